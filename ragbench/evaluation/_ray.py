"""Evaluation on Ray (``executor=ray``): questions sharded across actors, results gathered here.

Each :class:`EvalActor` builds the run's retrieval, generation and metrics from the same config
(one pipeline per actor, its models loaded once) and answers and scores a batch of questions with
the local per-question loop (:func:`ragbench.evaluation.evaluate._answer_batches`). The driver
sends the batches to the actors in turn, at most two in flight per actor, and hands the results to
the same sink as a local run (checkpoint, progress) in the dataset's order; then it builds the same
report, per-question table and MLflow run. A killed actor is restarted and its batch asked again
(``executor.max_retries``).

Plain Ray actors, as for ingestion (:mod:`ragbench.ingestion._ray`), not Ray Data's ``map_batches``:
a Ray Data execution starts its own actor pool, and the first one in a process costs seconds more
than the actors themselves (docs/scale.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ragbench.executor import ExecutorSettings, ensure_ray, in_order, kill_actors
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

    def answer(self, samples: list[Sample]) -> tuple[int, list[QuestionResult]]:
        """This worker's pid and the scored results of ``samples``, in their order."""
        from ragbench.evaluation.evaluate import _answer_batches

        results: list[QuestionResult] = []
        _answer_batches(self.pipeline, samples, self.batch_size, self.metrics, results.append)
        return os.getpid(), results


def ray_answerer(config: dict[str, Any], executor: ExecutorSettings) -> Callable:
    """The per-question loop of :func:`~ragbench.evaluation.evaluate.evaluate` on Ray actors.

    Returns ``answer(samples, sink)``: every result is passed to ``sink`` in the samples' order. The
    actors live for one call (they hold CPUs that the next stage on the cluster may need).
    """

    def answer(samples: Sequence[Sample], sink: Callable[[QuestionResult], None]) -> None:
        if not samples:
            return
        ray = ensure_ray(executor)
        remote = ray.remote(EvalActor).options(
            num_cpus=executor.actor_cpus, max_restarts=executor.max_retries, max_task_retries=executor.max_retries
        )
        actors = [remote.remote(config) for _ in range(executor.actors)]
        size = executor.batch_size
        batches = (list(samples[start : start + size]) for start in range(0, len(samples), size))
        try:
            for _, (pid, results) in in_order(ray, actors, batches, lambda actor, batch: actor.answer.remote(batch)):
                for hook in list(ON_BATCH):
                    hook(pid)
                for result in results:
                    sink(result)
        finally:
            kill_actors(ray, actors)

    return answer
