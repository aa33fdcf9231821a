"""The OpenAI-compatible generator's ``complete()``: a RAG method's intermediate steps on the same server.

Kept apart from :mod:`ragbench.generators.openai` (answers) so each file stays small; the steps go
through the same client, server facts and :class:`~ragbench.resilience.Guard` as the answers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

from ragbench.generators import _complete as steps
from ragbench.generators._base import confidence_from_logprobs
from ragbench.types import Completion


class OpenAISteps:
    """``complete``/``acomplete`` for :class:`~ragbench.generators.openai.OpenAIGenerator` (a mixin: it uses the
    generator's ``_client``, ``_server_facts``, ``count_tokens``, ``guard``, ``_complete_mapped``, ``sampling``,
    ``concurrency`` and ``max_model_len``)."""

    async def acomplete(
        self, prompts, *, tenants, max_tokens: int | None = None, stop: Sequence[str] = ()
    ) -> list[Completion]:
        """Async :meth:`complete`."""
        prompts, tenants = steps.check_prompts(prompts, tenants)
        sampling = steps.step_sampling(self.sampling, max_tokens, stop)
        async with self._client() as client:
            try:
                await self._server_facts(client)
            except Exception as exc:
                return [Completion(text="", error=f"{type(exc).__name__}: {exc}") for _ in prompts]
            sem = asyncio.Semaphore(self.concurrency)

            async def one(messages: list[dict], tenant: str) -> Completion:
                start = time.perf_counter()
                count = self.count_tokens(messages)
                if (refused := steps.too_long(count, sampling, int(self.max_model_len))) is not None:
                    return refused
                try:
                    async with sem:
                        out = await self.guard.acall(
                            tenant, self._complete_mapped, client, messages, tenant, None, sampling
                        )
                except Exception as exc:
                    return Completion(
                        text="", error=f"{type(exc).__name__}: {exc}", ms=(time.perf_counter() - start) * 1000
                    )
                return Completion(
                    text=out["text"],
                    prompt_tokens=out["prompt_tokens"],
                    completion_tokens=out["completion_tokens"],
                    confidence=confidence_from_logprobs(out["logprobs"]),
                    ms=(time.perf_counter() - start) * 1000,
                )

            return list(await asyncio.gather(*(one(m, t) for m, t in zip(prompts, tenants))))

    def complete(
        self, prompts, *, tenants, max_tokens: int | None = None, stop: Sequence[str] = ()
    ) -> list[Completion]:
        """Complete chat prompts on this server (a RAG method's steps), concurrently and guarded like answers:
        per-tenant rate limit, retries, circuit breaker; a failed item is a completion with ``error``."""
        return run_sync(self.acomplete(prompts, tenants=tenants, max_tokens=max_tokens, stop=stop))


def run_sync(coro):
    """Run ``coro`` to completion, also from inside a running event loop (e.g. Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
