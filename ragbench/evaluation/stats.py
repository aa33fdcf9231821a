"""Uncertainty for reported numbers: bootstrap confidence intervals and paired significance tests.

Every mean ragbench reports carries a 95% bootstrap interval (:func:`mean_ci`, on
``scipy.stats.bootstrap``). Two runs are compared question by question on the
questions both answered (:func:`paired_comparison`): the mean difference, its
bootstrap interval and a two-sided paired permutation p-value (sign flips).
Both are seeded, so the same inputs always give the same numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ragbench.errors import ConfigError

CONFIDENCE = 0.95
N_RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class MeanCI:
    """A mean with its bootstrap interval; ``low``/``high`` are NaN for fewer than two values."""

    mean: float
    low: float
    high: float
    n: int


def mean_ci(
    values: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    method: str = "BCa",
) -> MeanCI:
    """Mean of ``values`` with a ``confidence`` bootstrap interval (BCa, percentile where BCa is undefined).

    Example:
        >>> ci = mean_ci([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0])
        >>> ci.mean, ci.low < ci.mean < ci.high
        (0.625, True)
    """
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}; 0.95 gives a 95% interval.")
    arr = np.asarray(values, dtype=float)
    n = int(arr.size)
    if n == 0:
        return MeanCI(float("nan"), float("nan"), float("nan"), 0)
    mean = float(arr.mean())
    if n < 2:
        return MeanCI(mean, float("nan"), float("nan"), n)
    if np.all(arr == arr[0]):  # no spread: every resample has the same mean
        return MeanCI(mean, mean, mean, n)
    low, high = _bootstrap((arr,), _mean, confidence=confidence, n_resamples=n_resamples, seed=seed, method=method)
    return MeanCI(mean, low, high, n)


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _mean_diff(a, b, axis=-1):
    return np.mean(b - a, axis=axis)


def _bootstrap(data, statistic, *, confidence, n_resamples, seed, method, paired=False) -> tuple[float, float]:
    from scipy.stats import bootstrap

    kwargs = dict(confidence_level=confidence, n_resamples=n_resamples, vectorized=True, paired=paired)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = bootstrap(data, statistic, method=method, rng=np.random.default_rng(seed), **kwargs).confidence_interval
        if method != "percentile" and not (np.isfinite(ci.low) and np.isfinite(ci.high)):
            ci = bootstrap(
                data, statistic, method="percentile", rng=np.random.default_rng(seed), **kwargs
            ).confidence_interval
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class PairedResult:
    """Run B minus run A on shared questions: means, delta, its interval and the p-value."""

    metric: str
    n: int
    mean_a: float
    mean_b: float
    delta: float
    low: float
    high: float
    p_value: float

    def as_dict(self) -> dict:
        return asdict(self)


def paired_comparison(
    metric: str,
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    n_permutations: int = 10000,
    seed: int = SEED,
) -> PairedResult:
    """Compare paired per-question values ``a[i]``/``b[i]``: delta = mean(b - a), bootstrap CI, permutation p.

    The p-value is two-sided, from a paired permutation test (each pair's values swapped at
    random; exact when there are few pairs).

    Example:
        >>> r = paired_comparison("f1", [0.1, 0.2, 0.3, 0.4] * 5, [0.5, 0.6, 0.7, 0.9] * 5)
        >>> round(r.delta, 3), r.p_value < 0.01
        (0.425, True)
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ConfigError(f"paired_comparison needs equal-length paired values; got {x.size} and {y.size}.")
    n = int(x.size)
    nan = float("nan")
    if n == 0:
        return PairedResult(metric, 0, nan, nan, nan, nan, nan, nan)
    diff = y - x
    delta = float(diff.mean())
    if np.all(diff == diff[0]):  # no spread: the interval is the delta itself
        p = _permutation_p(x, y, n_permutations, seed) if n > 1 and delta != 0 else 1.0
        return PairedResult(metric, n, float(x.mean()), float(y.mean()), delta, delta, delta, p)
    low, high = (
        (nan, nan)
        if n < 2
        else _bootstrap(
            (x, y), _mean_diff, confidence=confidence, n_resamples=n_resamples, seed=seed, method="BCa", paired=True
        )
    )
    return PairedResult(
        metric, n, float(x.mean()), float(y.mean()), delta, low, high, _permutation_p(x, y, n_permutations, seed)
    )


def _permutation_p(x: np.ndarray, y: np.ndarray, n_permutations: int, seed: int) -> float:
    from scipy.stats import permutation_test

    res = permutation_test(
        (x, y),
        _mean_diff,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_permutations,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(res.pvalue)
