"""Generation inside the async service: remote models concurrently, in-process models batched.

* A generator with ``agenerate`` (an OpenAI-compatible server such as vLLM) is awaited on the
  event loop: many requests are in flight at once, the server batches them.
* Any other generator (the in-process vLLM engine, transformers, the extractive baseline) is not
  safe to call from many threads at once: one thread owns it, and requests that arrive while it is
  busy are answered together in the next ``generate`` call (up to ``max_batch``), so the engine
  batches them as a vLLM server would.
* Streaming uses the generator's ``stream_answer(query, hits)`` when it has one (text pieces,
  then the final :class:`~ragbench.types.Answer`), read on its own thread; otherwise the whole
  answer arrives as one piece.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future
from typing import Any

from ragbench.types import Answer, Hit, Query

_STOP = object()


class GenerationRunner:
    """Answer one question at a time from async code, batching in-process generators.

    Args:
        generator: Any :class:`~ragbench.protocols.Generator`.
        max_batch: Most questions per ``generate`` call of an in-process generator.

    Example:
        >>> runner = GenerationRunner(parts.generator)  # doctest: +SKIP
        >>> answer = await runner.generate(query, hits)  # doctest: +SKIP
    """

    def __init__(self, generator: Any, *, max_batch: int = 32) -> None:
        self.generator = generator
        self.max_batch = max_batch
        self.remote = callable(getattr(generator, "agenerate", None))
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def generate(self, query: Query, hits: Sequence[Hit]) -> Answer:
        """The answer to one question (a failure is an answer with ``error``; a crash of the generator raises)."""
        if self.remote:
            [answer] = await self.generator.agenerate([query], [list(hits)])
            return answer
        future: Future = Future()
        self._ensure_thread()
        self._queue.put((query, list(hits), future))
        return await asyncio.wrap_future(future)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="rb-generate", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(nxt)
            self._answer_batch(batch)

    def _answer_batch(self, batch: list) -> None:
        try:
            answers = self.generator.generate([q for q, _, _ in batch], [h for _, h, _ in batch])
        except BaseException as exc:
            for _, _, future in batch:
                future.set_exception(exc)
            return
        for (_, _, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)

    async def stream(self, query: Query, hits: Sequence[Hit]) -> AsyncIterator[str | Answer]:
        """Text pieces as the model produces them, then the final :class:`Answer`."""
        stream = getattr(self.generator, "stream_answer", None)
        if not callable(stream):
            answer = await self.generate(query, hits)
            if answer.ok and answer.text:
                yield answer.text
            yield answer
            return
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue = asyncio.Queue()

        def pump() -> None:
            try:
                for item in stream(query, list(hits)):
                    loop.call_soon_threadsafe(pieces.put_nowait, item)
            except BaseException as exc:
                loop.call_soon_threadsafe(pieces.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(pieces.put_nowait, _STOP)

        threading.Thread(target=pump, name="rb-stream", daemon=True).start()
        while (item := await pieces.get()) is not _STOP:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._queue.put(_STOP)
