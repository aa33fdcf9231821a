"""Evaluation on Ray (``executor=ray``): questions sharded across actors, results gathered here.

Each :class:`EvalActor` builds the run's retrieval, generation and metrics from the same config
(one pipeline per actor, its models loaded once) and answers and scores a batch of questions with
the local per-question loop (:func:`ragbench.evaluation.evaluate._answer_batches`). The driver
gathers the results in the dataset's order and hands each to the same sink as a local run
(checkpoint, progress), then builds the same report, per-question table and MLflow run.
A killed actor is restarted and its batch asked again (``executor.max_retries``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ragbench.executor import ExecutorSettings, ensure_ray, map_actors
from ragbench.types import QuestionResult, Sample

# Test hooks: called on the driver with the worker's pid each time a batch comes back.
ON_BATCH: list[Callable[[int], None]] = []


class EvalActor:
    """A Ray actor: the run's pipeline and metrics, built once from the config, answering batches."""

    def __init__(self, config: dict[str, Any]) -> None:
        from omegaconf import OmegaConf

        from ragbench.config import build

        parts = build(OmegaConf.create(config))
        parts.warm_up()
        self.pipeline, self.metrics = parts.pipeline, parts.metrics
        self.batch_size = parts.settings.batch_size

    def __call__(self, batch: Any) -> dict[str, list]:
        from ray import cloudpickle

        from ragbench.evaluation.evaluate import _answer_batches

        samples = [cloudpickle.loads(blob) for blob in batch["sample"]]
        results: list[QuestionResult] = []
        _answer_batches(self.pipeline, samples, self.batch_size, self.metrics, results.append)
        pid = os.getpid()
        return {"pid": [pid] * len(results), "result": [cloudpickle.dumps(r) for r in results]}


def ray_answerer(config: dict[str, Any], executor: ExecutorSettings) -> Callable:
    """The per-question loop of :func:`~ragbench.evaluation.evaluate.evaluate` on Ray actors.

    Returns ``answer(samples, sink)``: every result is passed to ``sink`` in the samples' order.
    """

    def answer(samples: Sequence[Sample], sink: Callable[[QuestionResult], None]) -> None:
        from ray import cloudpickle

        if not samples:
            return
        ray = ensure_ray(executor)
        rows = [{"sample": cloudpickle.dumps(s)} for s in samples]
        ds = map_actors(ray.data.from_items(rows), EvalActor, constructor={"config": config}, executor=executor)
        for batch in ds.iter_batches(batch_size=None, batch_format="pandas"):
            for hook in list(ON_BATCH):
                hook(int(batch["pid"].iloc[0]))
            for blob in batch["result"]:
                sink(cloudpickle.loads(blob))

    return answer
