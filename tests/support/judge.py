"""Test helpers for LLM judges: a long-context copy of the tiny Qwen2 and a garbage-speaking fake server.

ragas prompts are 600-2,100 tokens with the tiny model's tokenizer, over its 512-position
config; :func:`tiny_qwen2_long_context` copies the model with a larger position limit (its
RoPE needs no trained positions, and its outputs are meaningless either way).
:class:`FakeGarbageLLMServer` is a fault injector: an OpenAI-shaped HTTP server whose
answers are junk, to show that judge failures are counted, not averaged.
"""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def tiny_qwen2_long_context(out_dir: str | Path, *, max_positions: int = 4096) -> Path:
    """A copy of the cached tiny Qwen2 whose ``max_position_embeddings`` is ``max_positions``.

    Example:
        >>> path = tiny_qwen2_long_context("/tmp/tiny-judge")  # doctest: +SKIP
    """
    from ragbench.testing.tiny_qwen2 import tiny_qwen2_path

    out = Path(out_dir)
    if not (out / "config.json").exists():
        shutil.copytree(tiny_qwen2_path(), out, dirs_exist_ok=True)
        cfg = json.loads((out / "config.json").read_text())
        cfg["max_position_embeddings"] = max_positions
        (out / "config.json").write_text(json.dumps(cfg, indent=2))
    return out


class FakeGarbageLLMServer:
    """An OpenAI-compatible fake on 127.0.0.1 that lists a model and answers chat calls with junk.

    ``mode``: ``"text"`` (a well-formed completion whose content is not JSON), ``"body"``
    (HTTP 200 whose body is not JSON at all) or ``"wrong_json"`` (JSON of the wrong shape).

    Example:
        >>> with FakeGarbageLLMServer("text") as fake:  # doctest: +SKIP
        ...     Judge(fake.base_url).complete("hi")
    """

    def __init__(self, mode: str = "text") -> None:
        if mode not in ("text", "body", "wrong_json"):
            raise ValueError(f"mode {mode!r}: use 'text', 'body' or 'wrong_json'.")
        self.mode = mode
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(json.dumps({"object": "list", "data": [{"id": "garbage", "object": "model"}]}).encode())

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests += 1
                if fake.mode == "body":
                    return self._send(b"<html>502 upstream garbage \x00\xff</html>")
                content = "%% not json at all {{{" if fake.mode == "text" else json.dumps({"unexpected": [1, 2]})
                self._send(
                    json.dumps(
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "created": 0,
                            "model": "garbage",
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": content},
                                }
                            ],
                        }
                    ).encode()
                )

        return Handler

    def __enter__(self) -> FakeGarbageLLMServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
