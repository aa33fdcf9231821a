"""Experiments tab of the dashboard: recent MLflow runs, Compare (finished evaluation runs of one
dataset, with 95% bootstrap intervals drawn as whiskers) and quality vs latency (layout only; the
logic is :mod:`ragbench.dashboard.experiments`)."""

from __future__ import annotations

from typing import Any

from ragbench.dashboard import _html
from ragbench.dashboard._widgets import checkbox_table, frame
from ragbench.dashboard.auth import User
from ragbench.dashboard.service import DashboardService


class ExperimentsView:
    """Recent MLflow runs, a two-run comparison with confidence intervals, quality vs latency."""

    RUN_COLUMNS = [
        "name",
        "status",
        "started",
        "dataset",
        "ndcg@10",
        "recall@10",
        "mrr@10",
        "f1",
        "p50_ms",
        "p95_ms",
        "kind",
        "run_id",
    ]
    CMP_COLUMNS = [
        "metric",
        "a",
        "a_lo",
        "a_hi",
        "b",
        "b_lo",
        "b_hi",
        "diff",
        "diff_lo",
        "diff_hi",
        "p_value",
        "n_paired",
        "significant",
    ]

    def __init__(self, svc: DashboardService, user: User) -> None:
        import panel as pn

        self.svc, self.user = svc, user
        self.refresh = pn.widgets.Button(label="Refresh runs")
        self.runs_status = pn.pane.HTML("", sizing_mode="stretch_width")
        self.runs = checkbox_table(self.RUN_COLUMNS, "rb-runs")
        self.pick_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.dataset = pn.widgets.Select(label="Dataset", options=[], width=220, css_classes=["rb-plot-dataset"])
        self.run_a = pn.widgets.Select(label="Run A", options={}, width=300, css_classes=["rb-run-a"])
        self.run_b = pn.widgets.Select(label="Run B", options={}, width=300, css_classes=["rb-run-b"])
        self.compare = pn.widgets.Button(label="Compare", button_type="primary", align="end")
        self.result = pn.pane.HTML("", sizing_mode="stretch_width")
        self.ci_plot = pn.pane.Bokeh(None, height=300, sizing_mode="stretch_width", css_classes=["rb-ci-plot"])
        self.plot = pn.pane.Bokeh(None, height=320, sizing_mode="stretch_width")
        self._rows: list[dict[str, Any]] = []
        self.refresh.on_click(self._refresh)
        self.compare.on_click(self._compare)
        self.run_a.param.watch(lambda e: self._offer_b(), "value")
        self.runs.param.watch(lambda e: self._pick(), "selection")
        self.dataset.param.watch(lambda e: self._plot(), "value")
        self._refresh()

    def panel(self):
        import panel as pn

        return pn.Column(
            self.refresh,
            self.runs_status,
            self.runs,
            pn.pane.Markdown(
                "### Compare two runs (95% bootstrap intervals)\n"
                "Only finished evaluation runs are offered, and run B only of run A's dataset. "
                "Tick two of them in the table to pick them."
            ),
            self.pick_note,
            pn.Row(self.run_a, self.run_b, self.compare),
            self.result,
            self.ci_plot,
            pn.pane.Markdown(
                "### Quality (nDCG@10) vs latency (p50)\n"
                "One dataset at a time; the line joins the runs no other run beats on both (the Pareto front)."
            ),
            self.dataset,
            self.plot,
            sizing_mode="stretch_width",
        )

    def _refresh(self, event=None) -> None:
        from ragbench.dashboard.experiments import comparable_runs, default_pair, recent_runs

        try:
            rows = recent_runs(self.svc.parts.tracker)
        except Exception as exc:
            self.runs_status.object = f'<p class="rb-error">Could not read MLflow runs: {_html.esc(exc)}</p>'
            return
        self.runs_status.object = "" if rows else '<p class="rb-runs-empty">No MLflow runs yet: run `ragbench run`.</p>'
        self._rows = rows
        self.runs.value = frame(rows, self.RUN_COLUMNS, digits=4)
        self.runs.selection = []
        self.run_a.options = _run_options(comparable_runs(rows))
        pair = default_pair(rows)
        if pair is not None:
            self.run_a.value = pair[0]
            self._offer_b()
            self.run_b.value = pair[1]
        else:
            self._offer_b()
        from ragbench.dashboard.experiments import plot_datasets

        datasets = plot_datasets(rows)
        self.dataset.options = datasets
        if self.dataset.value not in datasets:
            self.dataset.value = datasets[0] if datasets else None
        self._plot()

    def _plot(self) -> None:
        self.plot.object = _scatter(self._rows, self.dataset.value) if self.dataset.value is not None else None

    def _pick(self) -> None:
        """Two runs ticked in the table become run A (the older) and run B, when they can be compared."""
        picked = [self._rows[i] for i in sorted(self.runs.selection) if i < len(self._rows)]
        if len(picked) != 2:
            self.pick_note.object = ""
            return
        newer, older = picked  # rows are newest first
        bad = [r["name"] for r in picked if not r.get("comparable")]
        if bad:
            note = f"{', '.join(bad)}: not a finished evaluation run with per-question scores."
        elif older["dataset"] != newer["dataset"]:
            note = f"Runs of different datasets ({older['dataset']}, {newer['dataset']}) do not pair."
        else:
            self.run_a.value = older["run_id"]
            self._offer_b()
            self.run_b.value = newer["run_id"]
            self.pick_note.object = (
                f'<p class="rb-pick-note">Run A: {_html.esc(older["name"])} · run B: {_html.esc(newer["name"])}</p>'
            )
            return
        self.pick_note.object = f'<p class="rb-pick-note rb-error">{_html.esc(note)}</p>'

    def _offer_b(self) -> None:
        """Run B's choices: the finished evaluation runs of run A's dataset, other than A."""
        from ragbench.dashboard.experiments import comparable_runs

        a = next((r for r in self._rows if r["run_id"] == self.run_a.value), None)
        same = comparable_runs(self._rows, dataset=a["dataset"]) if a else []
        self.run_b.options = _run_options([r for r in same if r["run_id"] != self.run_a.value])

    async def _compare(self, event=None) -> None:
        from ragbench.dashboard.experiments import compare_runs

        if not self.run_a.value or not self.run_b.value:
            self.result.object = '<p class="rb-error">Pick two runs.</p>'
            return
        self.result.object, self.ci_plot.object = "<p>Comparing…</p>", None
        try:
            rows = await self.svc.run_blocking(compare_runs, self.svc.parts.tracker, self.run_a.value, self.run_b.value)
        except Exception as exc:
            self.result.object = f'<p class="rb-error">{_html.esc(exc)}</p>'
            return
        self.result.object = _html.table(rows, self.CMP_COLUMNS, css="rb-compare", empty="No shared metrics.")
        self.ci_plot.object = _ci_plot(rows) if rows else None


def _run_options(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {f"{r['name']} · {r['dataset']} ({r['run_id'][:8]})": r["run_id"] for r in rows}


def _ci_plot(rows: list[dict[str, Any]]):
    """Each metric's mean for run A and run B with its 95% bootstrap interval as a whisker."""
    from bokeh.models import ColumnDataSource, FactorRange, Whisker
    from bokeh.plotting import figure

    factors = [(r["metric"], run) for r in rows for run in ("A", "B")]
    data = {
        "x": factors,
        "mean": [r[k] for r in rows for k in ("a", "b")],
        "lo": [r[f"{k}_lo"] for r in rows for k in ("a", "b")],
        "hi": [r[f"{k}_hi"] for r in rows for k in ("a", "b")],
        "color": ["#4878a8", "#d9822b"] * len(rows),
    }
    src = ColumnDataSource(data)
    fig = figure(
        x_range=FactorRange(*factors),
        height=280,
        sizing_mode="stretch_width",
        y_axis_label="mean (95% CI)",
        tools="hover,reset",
        tooltips=[("", "@x"), ("mean", "@mean{0.000}"), ("95% CI", "@lo{0.000} – @hi{0.000}")],
    )
    fig.scatter("x", "mean", source=src, size=9, color="color")
    fig.add_layout(Whisker(base="x", lower="lo", upper="hi", source=src, line_color="color"))
    return fig


def _scatter(rows: list[dict[str, Any]], dataset: str):
    """nDCG@10 vs p50 latency of one dataset's runs: hover for the run, 95% intervals as whiskers where
    the runs logged them, and the Pareto front as a step line."""
    from bokeh.models import ColumnDataSource, HoverTool, Whisker
    from bokeh.plotting import figure

    from ragbench.dashboard.experiments import quality_latency_points

    points = quality_latency_points(rows, dataset=dataset)
    fig = figure(
        height=320,
        sizing_mode="stretch_width",
        title=f"dataset: {dataset}",
        x_axis_label="latency p50 (ms)",
        y_axis_label="nDCG@10",
        tools="pan,wheel_zoom,reset",
    )
    if not points:
        return fig
    src = ColumnDataSource({k: [p[k] for p in points] for k in points[0]})
    front = sorted((p for p in points if p["pareto"]), key=lambda p: p["latency_ms"])
    fig.step(
        [p["latency_ms"] for p in front],
        [p["quality"] for p in front],
        mode="after",
        line_dash="dashed",
        color="#d9822b",
        legend_label="Pareto front",
        name="pareto",
    )
    dots = fig.scatter("latency_ms", "quality", source=src, size=11, color="#4878a8", name="runs")
    with_ci = [p for p in points if p["lo"] is not None and p["hi"] is not None]
    if with_ci:
        ci = ColumnDataSource({k: [p[k] for p in with_ci] for k in ("latency_ms", "lo", "hi")})
        fig.add_layout(Whisker(base="latency_ms", lower="lo", upper="hi", source=ci, line_color="#4878a8"))
        for end in ("lo", "hi"):  # invisible ends, so the axis range takes in the whiskers
            fig.scatter("latency_ms", end, source=ci, alpha=0)
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[
                ("run", "@name"),
                ("nDCG@10", "@quality{0.000} (95% CI @lo{0.000} – @hi{0.000})"),
                ("p50", "@latency_ms{0.0} ms"),
                ("Pareto", "@pareto"),
            ],
        )
    )
    fig.legend.location = "bottom_right"
    return fig
