"""ragas 0.4 LLM-judge metrics (faithfulness, answer relevancy, context precision and recall) on a :class:`Judge`.

ragas builds the prompts and computes the scores; the judge makes the calls (cached,
JSON-constrained). A failed call, unparsable output or a NaN score is raised as
:class:`~ragbench.judge.client.JudgeError`, which the metric suite records per
item with its reason: failed items are counted, never averaged in.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ragbench.judge.client import Judge, JudgeError, parse_json
from ragbench.types import QuestionResult, Sample

# name -> (ragas class, inputs it needs)
RAGAS_METRICS = {
    "faithfulness": ("Faithfulness", ("user_input", "response", "retrieved_contexts")),
    "answer_relevancy": ("AnswerRelevancy", ("user_input", "response")),
    "context_precision": ("ContextPrecisionWithReference", ("user_input", "reference", "retrieved_contexts")),
    "context_recall": ("ContextRecall", ("user_input", "reference", "retrieved_contexts")),
    # answer correctness against the gold answer: two judge prompts rate 0/2/4, averaged (NVIDIA's metric in ragas)
    "answer_accuracy": ("AnswerAccuracy", ("user_input", "response", "reference")),
}


def _ragas_llm(judge: Judge, sample: int):
    """A ragas LLM whose every call goes through ``judge`` (same prompt twice in one item = two samples)."""
    from ragas.llms.base import InstructorBaseRagasLLM

    class JudgeLLM(InstructorBaseRagasLLM):
        def __init__(self) -> None:
            self.seen: Counter = Counter()

        def generate(self, prompt, response_model):
            occurrence = self.seen[prompt]
            self.seen[prompt] += 1
            text = judge.complete(prompt, response_model.model_json_schema(), sample=sample, occurrence=occurrence)
            return parse_json(text, response_model)

        async def agenerate(self, prompt, response_model):
            return self.generate(prompt, response_model)

    return JudgeLLM()


def _ragas_embeddings(embedder, cache=None):
    """ragas embeddings backed by a ragbench embedder (query-side vectors), cached with the judge's calls."""
    import json

    from ragas.embeddings.base import BaseRagasEmbedding

    from ragbench.judge.cache import cache_key

    class EmbedderAdapter(BaseRagasEmbedding):
        def embed_text(self, text, **kwargs):
            key = cache_key(f"embed:{embedder!r}", text, {})
            if cache is not None and (hit := cache.get(key)) is not None:
                return json.loads(hit)
            vector = [float(x) for x in embedder.embed_queries([text])[0]]
            if cache is not None:
                cache.put(key, json.dumps(vector), model=repr(embedder))
            return vector

        async def aembed_text(self, text, **kwargs):
            return self.embed_text(text)

    return EmbedderAdapter()


def _inputs(sample: Sample, result: QuestionResult) -> dict[str, Any]:
    answer = result.answer
    return {
        "user_input": sample.question,
        "response": answer.text if answer is not None and answer.ok else "",
        "retrieved_contexts": [h.text for h in result.hits],
        "reference": sample.answers[0] if sample.answers else "",
    }


@dataclass
class RagasJudgeMetric:
    """One ragas metric scored by a judge; ``k`` judge samples give a mean and ``<name>.judge_std``.

    Items lacking an input the metric needs (no answer, no gold reference, no contexts) are not
    applicable and return ``{}``; judge failures raise :class:`JudgeError`.

    Example:
        >>> metric = RagasJudgeMetric("faithfulness", judge)  # doctest: +SKIP
        >>> metric(sample, result)  # doctest: +SKIP
        {'faithfulness': 0.5}
    """

    name: str
    judge: Judge
    embedder: Any = None
    higher_is_better: bool = True
    _metrics: dict = field(default_factory=dict, repr=False)

    def _metric(self, sample_index: int):
        if sample_index not in self._metrics:
            os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
            import ragas.metrics.collections as collections

            cls = getattr(collections, RAGAS_METRICS[self.name][0])
            kwargs = {"llm": _ragas_llm(self.judge, sample_index)}
            if self.name == "answer_relevancy":
                if self.embedder is None:
                    raise JudgeError("answer_relevancy needs an embedder; none was configured")
                kwargs["embeddings"] = _ragas_embeddings(self.embedder, self.judge.cache)
            self._metrics[sample_index] = cls(**kwargs)
        return self._metrics[sample_index]

    def _score_once(self, sample_index: int, inputs: dict[str, Any]) -> float:
        metric = self._metric(sample_index)
        metric.llm.seen.clear()
        try:
            value = _outside_event_loop(metric.score, **inputs).value
        except JudgeError:
            raise
        except Exception as exc:
            raise JudgeError(f"ragas {self.name} failed ({type(exc).__name__}): {str(exc)[:200]}") from exc
        if value is None or not isinstance(value, (int, float)) or math.isnan(value):
            raise JudgeError(
                f"ragas {self.name} returned no score ({value!r}): the judge's output held nothing to score"
            )
        if not 0.0 <= float(value) <= 1.0:
            raise JudgeError(f"ragas {self.name} returned {value!r}, outside [0, 1]")
        return float(value)

    def __call__(self, sample: Sample, result: QuestionResult) -> dict[str, float]:
        inputs = _inputs(sample, result)
        needed = RAGAS_METRICS[self.name][1]
        if any(not inputs[k] for k in needed):
            return {}
        values = [self._score_once(i, {k: inputs[k] for k in needed}) for i in range(self.judge.samples)]
        out = {self.name: sum(values) / len(values)}
        if len(values) > 1:
            mean = out[self.name]
            out[f"{self.name}.judge_std"] = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        return out


def _outside_event_loop(fn, **kwargs):
    """Call ``fn`` here, or in a worker thread when this thread runs an event loop (Jupyter, a
    Playwright session, an async server): ragas's sync ``score()`` refuses to run inside one."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(**kwargs)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragbench-judge") as pool:
        return pool.submit(fn, **kwargs).result()
