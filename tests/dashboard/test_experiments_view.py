"""The Experiments tab's Compare on a real MLflow sqlite store that holds what a real home holds:
evaluation runs of two datasets, a failed run, a sweep parent and a notebook pipeline's stage run.
Only finished evaluation runs of one dataset may be offered, and the default picks must compare."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ragbench.errors import ConfigError


def _run_async(coro) -> None:
    """Run the view's coroutine on a loop of its own thread: the session's Playwright browser (tests/conftest.py)
    keeps an event loop running in the main thread once a browser test has run, and asyncio.run refuses that."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _eval_run(tracker, name: str, dataset: str, scores: list[float], *, fail: bool = False) -> str:
    rows = [
        {"question_id": f"q{i}", "metric.ndcg@10": s, "metric.recall@10": min(1.0, s + 0.1)}
        for i, s in enumerate(scores)
    ]
    try:
        with tracker.start_run(run_name=name, tags={"dataset": dataset, "method": "standard"}) as run_id:
            tracker.log_metrics({"ndcg@10": sum(scores) / len(scores)})
            if fail:
                raise RuntimeError("the generator server went away")
            tracker.log_table(rows, "per_question")
    except RuntimeError:
        pass
    time.sleep(0.02)  # distinct start times: the views order runs by them
    return run_id


@pytest.fixture
def home(tmp_path):
    """A service on a fresh home whose MLflow experiment holds, oldest first: demo-a, other-ds, demo-b
    (finished evaluation runs), demo-failed, a sweep parent and a pipeline stage (newest)."""
    from ragbench.config import build, compose
    from ragbench.dashboard.history import ConversationStore
    from ragbench.dashboard.service import DashboardService

    parts = build(compose([f"home={tmp_path / 'home'}", "progress=false", "generator=extractive", "retriever=bm25"]))
    t = parts.tracker
    ids = {
        "demo-a": _eval_run(t, "demo-a", "demo", [0.2, 0.4, 0.5, 0.3, 0.6, 0.1]),
        "other-ds": _eval_run(t, "other-ds", "scifact", [0.9, 0.8, 0.7]),
        "demo-b": _eval_run(t, "demo-b", "demo", [0.6, 0.7, 0.8, 0.5, 0.9, 0.4]),
        "demo-failed": _eval_run(t, "demo-failed", "demo", [0.1, 0.1], fail=True),
    }
    with t.start_run(run_name="sweep-grid", tags={"ragbench.kind": "sweep"}) as ids["sweep"]:
        pass
    time.sleep(0.02)
    with t.start_run(run_name="evaluate", tags={"ragbench.pipeline": "demo", "ragbench.notebook": "nb.ipynb"}) as sid:
        ids["stage"] = sid
    svc = DashboardService(parts, users=None, history=ConversationStore(tmp_path / "h.db"), presets={"default": []})
    yield svc, ids
    svc.close()


def test_compare_offers_only_finished_evaluation_runs_and_default_picks_compare(home):
    from ragbench.dashboard.auth import LOCAL_ADMIN
    from ragbench.dashboard.views_experiments import ExperimentsView

    svc, ids = home
    view = ExperimentsView(svc, LOCAL_ADMIN)
    # the default picks compare (before the fix: "Failed to download artifacts from path 'per_question.json'")
    _run_async(view._compare())
    html = view.result.object
    assert "rb-error" not in html and html.count('class="rb-compare-row"') == 2, html
    assert "<td>ndcg@10</td><td>0.3500</td>" in html and "<td>0.6500</td>" in html  # means of A and B
    assert view.ci_plot.object is not None  # the CI plot is drawn
    # every run is listed, with its kind ...
    listed = {r["name"]: r for r in view._rows}
    assert listed["evaluate"]["kind"] == "pipeline stage" and listed["sweep-grid"]["kind"] == "sweep"
    assert not listed["demo-failed"]["comparable"] and listed["demo-b"]["comparable"]
    # ... but only finished evaluation runs are offered, and B only of A's dataset
    assert set(view.run_a.options.values()) == {ids["demo-a"], ids["other-ds"], ids["demo-b"]}
    assert (view.run_a.value, view.run_b.value) == (ids["demo-a"], ids["demo-b"])
    assert list(view.run_b.options.values()) == [ids["demo-b"]]
    # the other dataset has one finished run: nothing to pair it with
    view.run_a.value = ids["other-ds"]
    assert view.run_b.options == {}


def test_compare_refuses_runs_that_cannot_be_paired_with_the_reason(home):
    from ragbench.dashboard.experiments import compare_runs

    svc, ids = home
    tracker = svc.parts.tracker
    with pytest.raises(ConfigError, match=r"demo-failed.*status is FAILED"):
        compare_runs(tracker, ids["demo-a"], ids["demo-failed"])
    with pytest.raises(ConfigError, match=r"evaluate.*pipeline stage run"):
        compare_runs(tracker, ids["stage"], ids["demo-b"])
    with pytest.raises(ConfigError, match=r"dataset 'demo' and run B on 'scifact'"):
        compare_runs(tracker, ids["demo-a"], ids["other-ds"])
    [ndcg, recall] = compare_runs(tracker, ids["demo-a"], ids["demo-b"], n_resamples=500)
    assert ndcg["metric"] == "ndcg@10" and ndcg["n_paired"] == 6 and ndcg["diff"] == pytest.approx(0.3)
    assert ndcg["significant"] and ndcg["diff_lo"] > 0
