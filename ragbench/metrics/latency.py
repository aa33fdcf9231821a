"""Latency summaries: percentiles of per-question stage timings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def percentiles(values: Sequence[float], qs: Iterable[int] = (50, 95)) -> dict[str, float]:
    """``{"p50": ..., "p95": ...}`` with linear interpolation (numpy's default).

    Example:
        >>> percentiles([1.0, 2.0, 3.0, 4.0])
        {'p50': 2.5, 'p95': 3.85}
    """
    if not len(values):
        return {}
    arr = np.asarray(values, dtype=float)
    return {f"p{q}": round(float(np.percentile(arr, q)), 6) for q in qs}


def stage_latencies(timings: Sequence[Mapping[str, float]], qs: Iterable[int] = (50, 95)) -> dict[str, float]:
    """Percentiles per stage: ``{"latency.retrieve_ms.p50": ..., ...}``."""
    qs = tuple(qs)
    stages = sorted({stage for t in timings for stage in t})
    out: dict[str, float] = {}
    for stage in stages:
        values = [t[stage] for t in timings if stage in t]
        for key, value in percentiles(values, qs).items():
            out[f"latency.{stage}.{key}"] = value
    return out
