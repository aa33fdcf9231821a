"""Bootstrap CIs and the paired test against independent reference computations."""

import itertools

import numpy as np
import pytest

from ragbench.evaluation.stats import mean_ci, paired_comparison


def _numpy_percentile_bootstrap(values, n=20000, seed=11):
    rng = np.random.default_rng(seed)
    arr = np.asarray(values, dtype=float)
    means = arr[rng.integers(0, arr.size, size=(n, arr.size))].mean(axis=1)
    return np.percentile(means, [2.5, 97.5])


def test_mean_ci_matches_a_plain_numpy_bootstrap():
    values = np.random.default_rng(5).beta(2, 5, size=120)
    ci = mean_ci(values, method="percentile", n_resamples=20000)
    low, high = _numpy_percentile_bootstrap(values)
    assert ci.mean == pytest.approx(values.mean())
    assert ci.low == pytest.approx(low, abs=0.004) and ci.high == pytest.approx(high, abs=0.004)
    bca = mean_ci(values)  # default BCa: close to percentile for a near-symmetric mean
    assert bca.low < ci.mean < bca.high and abs(bca.low - ci.low) < 0.01
    # the normal approximation agrees roughly too: half-width about 1.96 standard errors
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert (bca.high - bca.low) / 2 == pytest.approx(1.96 * se, rel=0.1)


def test_mean_ci_edge_cases_and_determinism():
    assert mean_ci([0.7, 0.7, 0.7]) == mean_ci([0.7, 0.7, 0.7])
    c = mean_ci([0.7, 0.7, 0.7])
    assert (c.mean, c.low, c.high, c.n) == (pytest.approx(0.7), pytest.approx(0.7), pytest.approx(0.7), 3)
    one = mean_ci([0.3])
    assert one.mean == 0.3 and np.isnan(one.low) and one.n == 1
    assert mean_ci([]).n == 0
    assert mean_ci([0, 1, 0, 1, 1]) == mean_ci([0, 1, 0, 1, 1])  # seeded: same numbers every call
    with pytest.raises(ValueError, match="confidence must be in"):
        mean_ci([1, 2], confidence=95)


def test_paired_p_value_equals_exhaustive_sign_flip_enumeration():
    rng = np.random.default_rng(2)
    a = rng.random(12)
    b = a + rng.normal(0.15, 0.2, 12)
    d = b - a
    observed = abs(d.mean())
    flips = [abs((d * np.array(s)).mean()) for s in itertools.product([1, -1], repeat=d.size)]
    exact = np.mean([f >= observed - 1e-12 for f in flips])
    r = paired_comparison("x", a, b)
    assert r.n == 12 and r.delta == pytest.approx(d.mean())
    assert r.p_value == pytest.approx(exact, abs=1e-12)
    assert r.low < r.delta < r.high


def test_paired_identical_runs_and_clear_differences():
    a = np.random.default_rng(3).random(50)
    same = paired_comparison("f1", a, a)
    assert same.delta == 0 and same.p_value == 1.0 and same.low == same.high == 0
    big = paired_comparison("f1", a, a + 0.3)
    assert big.p_value < 0.001 and big.low == pytest.approx(0.3) and big.high == pytest.approx(0.3)
    with pytest.raises(ValueError, match="equal-length"):
        paired_comparison("f1", [1, 2], [1])
