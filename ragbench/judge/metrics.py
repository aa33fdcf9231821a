"""The judge's metrics in ragbench's catalogue: each ragas metric of :data:`RAGAS_METRICS`, scored by a :class:`Judge`.

Importing this module registers them (``ragbench.metrics.get_metric`` imports it the first time it
meets a name it does not know), so the metric catalogue does not depend on the judge.
"""

from __future__ import annotations

from ragbench.judge.ragas_metrics import RAGAS_METRICS, RagasJudgeMetric
from ragbench.metrics.registry import register_metric


def _factory(name: str):
    def build(judge, embedder):
        return RagasJudgeMetric(name, judge, embedder)

    return build


for _name in RAGAS_METRICS:
    register_metric(_name, _factory(_name), judged=True)
