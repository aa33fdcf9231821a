"""A light run of bench/bench_dashboard_load.py: 20 concurrent questions from this (second)
process against the served dashboard; every one answered, none leaking across tenants."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_dashboard_load.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_dashboard_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_twenty_concurrent_queries(dashboard_url):
    bench = _bench()
    cookie = bench.login(dashboard_url, "root", "root-pw")
    questions = bench.demo_questions()[:20]
    assert len({t for t, _ in questions}) == 2
    result = bench.run_load(dashboard_url, cookie, questions, concurrency=20)
    print(f"20 concurrent: p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, wall {result['wall_s']:.2f} s")
    assert result["n"] == 20 and result["errors"] == [] and result["leaks"] == []
    assert all(result["answers"])
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    with pytest.raises(SystemExit, match="login as 'root' failed"):
        bench.login(dashboard_url, "root", "wrong")
