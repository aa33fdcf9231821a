"""Network helpers for fault tests: a TCP proxy that can be cut, and a FAKE server that answers
malformed JSON (a real vLLM server never does, so that one fault has to be staged).

Example:
    >>> with TcpProxy("127.0.0.1", 8000) as proxy:  # doctest: +SKIP
    ...     proxy.cut()      # new and open connections are refused / dropped
    ...     proxy.restore()  # traffic flows again, same port
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target``; :meth:`cut` makes the target unreachable."""

    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.cut_at: float | None = None
        self._serve()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        listener = self._listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # 5 s to connect, not to answer: a slow first token must not cut the stream
            with self._lock:
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)

    def cut(self) -> None:
        """Stop listening and drop open connections: clients get 'connection refused'."""
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restore(self) -> None:
        """Listen again on the same port."""
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._serve()

    def close(self) -> None:
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FakeMalformedLLMServer:
    """A FAKE OpenAI-style server: ``/v1/models`` is valid, ``/v1/chat/completions`` returns broken JSON.

    ``mode="body"`` sends a truncated JSON body; ``mode="stream"`` sends a broken SSE chunk;
    ``mode="schema"`` sends valid JSON without ``choices``.
    """

    def __init__(self, mode: str = "body") -> None:
        outer = self
        self.mode = mode
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                cards = {"object": "list", "data": [{"id": "fake", "object": "model", "max_model_len": 512}]}
                self._send(200, json.dumps(cards).encode())

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                if outer.mode == "stream":
                    self._send(200, b'data: {"choices": [{"delta": {"content": "hi"\n\n', "text/event-stream")
                elif outer.mode == "schema":
                    self._send(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())
                else:
                    self._send(200, b'{"id": "x", "choices": [{"message": {"content": "tru')

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeMalformedLLMServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
