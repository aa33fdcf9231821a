"""A FAULT-INJECTING OpenAI-compatible server on 127.0.0.1, for tests of what a generator or judge
does when the LLM server misbehaves in ways a healthy vLLM never does.

It is a real socket server (``http.server``): ``GET /v1/models`` lists one model and
``POST /v1/chat/completions`` answers according to :attr:`FaultyLLMServer.mode`, which a test
may change at any time:

* ``ok``: a valid answer (``answer`` text), streamed with ``data: [DONE]`` or as one JSON body;
* ``http500``: HTTP 500 with a JSON error body;
* ``html``: HTTP 200 whose body is an HTML page (a proxy's error page);
* ``cut``: HTTP 200 event stream that closes the connection before ``data: [DONE]``;
* ``no_choices``: HTTP 200 event stream with chunks that carry no ``choices``, then ``[DONE]``;
* ``hang``: reads the request and never answers (until the server is closed).

``delay_s`` makes every chat answer wait first (a slow model); ``faults=n`` answers with ``mode``
only the first ``n`` chat requests, then ``ok`` (a server that recovers). ``posts`` counts chat requests.

Example:
    >>> with FaultyLLMServer("http500") as fake:  # doctest: +SKIP
    ...     OpenAIGenerator(fake.base_url).generate([query], [hits])
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "http500", "html", "cut", "no_choices", "hang")
HTML_PAGE = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _chunk(content: str | None, *, finish: str | None = None) -> bytes:
    choice = {
        "index": 0,
        "delta": {"content": content} if content else {},
        "finish_reason": finish,
        "logprobs": {"content": [{"token": content, "logprob": -0.1}]} if content else None,
    }
    return (
        b"data: " + json.dumps({"id": "x", "object": "chat.completion.chunk", "choices": [choice]}).encode() + b"\n\n"
    )


class FaultyLLMServer:
    """An OpenAI-shaped server whose chat answers are faults chosen by ``mode`` (see module doc).

    Args:
        mode: One of :data:`MODES`.
        model: The model name ``/v1/models`` lists.
        answer: The text of ``ok`` answers (and the partial text of ``cut`` streams).
        delay_s: Seconds every chat request waits before answering.
        faults: Answer only this many chat requests with ``mode``, the later ones ``ok`` (None: all).
    """

    def __init__(
        self,
        mode: str = "ok",
        *,
        model: str = "fake",
        answer: str = "Oslo is the answer.",
        delay_s: float = 0.0,
        faults: int | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: use one of {MODES}.")
        self.mode, self.model, self.answer, self.delay_s, self.faults = mode, model, answer, delay_s, faults
        self.posts = 0
        self.gets = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes (as a cut stream does)

            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with fake._lock:
                    fake.gets += 1
                cards = {"object": "list", "data": [{"id": fake.model, "object": "model", "max_model_len": 2048}]}
                self._send(200, json.dumps(cards).encode())

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake._lock:
                    fake.posts += 1
                    mode = fake.mode if fake.faults is None or fake.posts <= fake.faults else "ok"
                if fake.delay_s:
                    fake._closing.wait(fake.delay_s)
                if mode == "hang":
                    fake._closing.wait(600)
                    return
                if mode == "http500":
                    return self._send(500, b'{"error": {"message": "internal error", "code": 500}}')
                if mode == "html":
                    return self._send(200, HTML_PAGE, "text/html; charset=utf-8")
                if not body.get("stream"):
                    return self._send(200, fake._full_body(mode))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.end_headers()
                self.wfile.write(fake._stream_body(mode))

        return Handler

    def _full_body(self, mode: str) -> bytes:
        if mode == "no_choices":
            return json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
        return json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "model": self.model,
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": self.answer}}
                ],
                "usage": {"prompt_tokens": 20, "completion_tokens": 5},
            }
        ).encode()

    def _stream_body(self, mode: str) -> bytes:
        words = self.answer.split(" ")
        if mode == "no_choices":
            usage = {"id": "x", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 20}}
            return b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n"
        if mode == "cut":  # half the answer, then the connection closes: no finish_reason, no [DONE]
            return b"".join(_chunk(w + " ") for w in words[: max(1, len(words) // 2)])
        out = b"".join(_chunk(w + (" " if i < len(words) - 1 else "")) for i, w in enumerate(words))
        usage = {
            "id": "x",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": {"prompt_tokens": 20, "completion_tokens": len(words)},
        }
        return out + _chunk(None, finish="stop") + b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n"

    def close(self) -> None:
        self._closing.set()  # releases hanging and delayed handlers
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultyLLMServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
