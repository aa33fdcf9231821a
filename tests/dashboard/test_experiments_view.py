"""The Experiments tab's Compare on a real MLflow sqlite store that holds what a real home holds:
evaluation runs of two datasets, a failed run, a sweep parent and a notebook pipeline's stage run.
Only finished evaluation runs of one dataset may be offered, and the default picks must compare."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ragbench.errors import ConfigError
from ragbench.tracking.metric_names import mlflow_key


def _run_async(coro) -> None:
    """Run the view's coroutine on a loop of its own thread: the session's Playwright browser (tests/conftest.py)
    keeps an event loop running in the main thread once a browser test has run, and asyncio.run refuses that."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _eval_run(
    tracker,
    name: str,
    dataset: str,
    scores: list[float],
    *,
    fail: bool = False,
    p50: float = 0.0,
    ci: bool = False,
    table: bool = True,
) -> str:
    rows = [
        {"question_id": f"q{i}", "metric.ndcg@10": s, "metric.recall@10": min(1.0, s + 0.1)}
        for i, s in enumerate(scores)
    ]
    try:
        with tracker.start_run(run_name=name, tags={"dataset": dataset, "method": "standard"}) as run_id:
            mean = sum(scores) / len(scores)
            summary = {"ndcg@10": mean, "latency.total_ms.p50": p50 or 10.0 * len(name)}
            if ci:
                summary.update({"ndcg@10.ci_low": mean - 0.1, "ndcg@10.ci_high": mean + 0.1})
            tracker.log_metrics({mlflow_key(k): v for k, v in summary.items()})  # the names a real run logs
            if fail:
                raise RuntimeError("the generator server went away")
            if table:
                tracker.log_table(rows, "per_question")
    except RuntimeError:
        pass
    time.sleep(0.02)  # distinct start times: the views order runs by them
    return run_id


@pytest.fixture
def home(tmp_path):
    """A service on a fresh home whose MLflow experiment holds, oldest first: demo-a, other-ds, demo-b
    (finished evaluation runs), demo-c (finished, without per-question scores), demo-failed, a sweep
    parent and a pipeline stage (newest)."""
    from ragbench.config import build, compose
    from ragbench.dashboard.history import ConversationStore
    from ragbench.dashboard.service import DashboardService

    parts = build(compose([f"home={tmp_path / 'home'}", "progress=false", "generator=extractive", "retriever=bm25"]))
    t = parts.tracker
    ids = {
        "demo-a": _eval_run(t, "demo-a", "demo", [0.2, 0.4, 0.5, 0.3, 0.6, 0.1], p50=30.0),
        "other-ds": _eval_run(t, "other-ds", "scifact", [0.9, 0.8, 0.7], p50=5.0),
        "demo-b": _eval_run(t, "demo-b", "demo", [0.6, 0.7, 0.8, 0.5, 0.9, 0.4], p50=50.0, ci=True),
        "demo-c": _eval_run(t, "demo-c", "demo", [0.3, 0.3, 0.3, 0.3, 0.3, 0.3], p50=80.0, table=False),
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


def test_runs_table_picks_and_one_dataset_scatter_with_pareto_front_and_intervals(home):
    from bokeh.models import GlyphRenderer, LabelSet, Whisker

    from ragbench.dashboard.auth import LOCAL_ADMIN
    from ragbench.dashboard.views_experiments import ExperimentsView

    svc, ids = home
    view = ExperimentsView(svc, LOCAL_ADMIN)
    frame = view.runs.value  # the Tabulator's rows, newest first
    assert list(frame["name"][:4]) == ["evaluate", "sweep-grid", "demo-failed", "demo-c"]
    assert view.runs.header_filters and view.runs.selectable == "checkbox"
    # ticking two comparable runs of one dataset picks them (the older as A)
    names = list(frame["name"])
    view.runs.selection = [names.index("demo-b"), names.index("demo-a")]
    assert (view.run_a.value, view.run_b.value) == (ids["demo-a"], ids["demo-b"])
    view.runs.selection = [names.index("demo-b"), names.index("other-ds")]
    assert "different datasets" in view.pick_note.object
    view.runs.selection = [names.index("demo-b"), names.index("demo-c")]
    assert "demo-c: not a finished evaluation run" in view.pick_note.object
    assert (view.run_a.value, view.run_b.value) == (ids["demo-a"], ids["demo-b"])  # a refused pick changes nothing
    # the scatter: one dataset at a time, newest run's first
    assert view.dataset.options == ["demo", "scifact"] and view.dataset.value == "demo"
    fig = view.plot.object
    assert not fig.select(type=LabelSet)  # no text labels: hover tooltips instead
    [dots] = fig.select(name="runs", type=GlyphRenderer)
    data = dots.data_source.data
    by_name = dict(
        zip(data["name"], zip(data["latency_ms"], data["quality"], data["pareto"], strict=True), strict=True)
    )
    assert by_name == {  # demo-failed (FAILED) and other-ds (scifact) are not drawn
        "demo-a": (30.0, pytest.approx(0.35), True),
        "demo-b": (50.0, pytest.approx(0.65), True),
        "demo-c": (80.0, pytest.approx(0.3), False),  # slower and worse than demo-b
    }
    [front] = fig.select(name="pareto", type=GlyphRenderer)
    assert list(front.data_source.data["x"]) == [30.0, 50.0]
    [whisker] = [w for w in fig.center if isinstance(w, Whisker)]  # only demo-b logged its interval
    assert list(whisker.source.data["lo"]) == [pytest.approx(0.55)] and list(whisker.source.data["hi"]) == [
        pytest.approx(0.75)
    ]
    view.dataset.value = "scifact"
    [dots] = view.plot.object.select(name="runs", type=GlyphRenderer)
    assert list(dots.data_source.data["name"]) == ["other-ds"]
    assert not [w for w in view.plot.object.center if isinstance(w, Whisker)]
