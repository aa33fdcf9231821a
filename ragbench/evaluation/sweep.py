"""Sweeps and pipeline search: run config combinations as child MLflow runs under one parent.

``ragbench run -m retriever=bm25,dense,hybrid k=range(5,11,5)`` expands the swept values, written
in Hydra's own override grammar (comma lists, ``choice``, ``range``, ``glob`` over a config group),
into their product (:func:`expand_sweep`) and runs each combination (:func:`run_sweep`).
With a search metric, :func:`run_sweep` picks the best combination whose p95 total
latency fits a budget; ``strategy="greedy"`` explores node by node (as AutoRAG does):
one swept key at a time, the others held at their best value so far.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ragbench._table import TextTable
from ragbench.errors import ConfigError, RagbenchError

LATENCY_KEY = "latency.total_ms.p95"
SWEEP_FIGURE = "figures/quality_vs_latency.png"
STRATEGIES = ("grid", "greedy", "tpe")


def _parse(overrides: Sequence[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        return OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as exc:
        raise ConfigError(
            f"Invalid sweep overrides {list(overrides)}: {str(exc).splitlines()[0]} Hydra's grammar applies: "
            "retriever=bm25,dense  k=range(5,21,5)  generator=choice(extractive,vllm)  retriever=glob(m3_*)."
        ) from exc


def _values(override) -> list[str]:
    """The values a swept override takes: comma lists, ``choice``, ``range``, and ``glob`` over a config group."""
    from hydra.core.override_parser.types import ValueType

    if override.value_type == ValueType.GLOB_CHOICE_SWEEP:
        from ragbench.config import group_options

        values = override.value().filter(group_options(override.key_or_group))
        if not values:
            raise ConfigError(f"{override.input_line!r} matches no option of configs/{override.key_or_group}/.")
        return values
    if not override.is_discrete_sweep():
        raise ConfigError(f"{override.input_line!r} is an interval: a grid needs listed values (choice, range, a,b).")
    return list(override.sweep_string_iterator())


def sweep_axes(overrides: Sequence[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Fixed overrides and swept ``(key, values)`` axes, in the order given, parsed with Hydra's override grammar.

    Example:
        >>> sweep_axes(["k=range(5,11,5)", "max_queries=3"])
        (['max_queries=3'], [('k', ['5', '10'])])
    """
    fixed, axes = [], []
    for override in _parse(overrides):
        if override.is_sweep_override():
            axes.append((override.get_key_element(), _values(override)))
        else:
            fixed.append(override.input_line)
    return fixed, axes


def expand_sweep(overrides: Sequence[str]) -> list[list[str]]:
    """Every combination of the swept values in ``overrides`` (Hydra's basic sweeper order), fixed overrides first.

    Example:
        >>> expand_sweep(["retriever=bm25,dense", "k=5,10", "max_queries=20"])[:2]
        [['max_queries=20', 'retriever=bm25', 'k=5'], ['max_queries=20', 'retriever=bm25', 'k=10']]
    """
    fixed, axes = sweep_axes(overrides)
    if not axes:
        return [list(fixed)]
    keys = [k for k, _ in axes]
    return [[*fixed, *(f"{k}={v}" for k, v in zip(keys, combo))] for combo in itertools.product(*(v for _, v in axes))]


@dataclass
class Trial:
    """One combination: its overrides, the child run id and its overall metrics (or the error)."""

    overrides: list[str]
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    rows: list[dict] = field(default_factory=list, repr=False)  # the per-question table (paired tests)

    def value(self, metric: str) -> float | None:
        return self.metrics.get(metric)


@dataclass
class SweepResult:
    """All trials, the parent run id and, in search mode, the chosen trial."""

    trials: list[Trial]
    parent_run_id: str | None = None
    best: Trial | None = None
    metric: str | None = None
    latency_budget_ms: float | None = None


def _feasible(trial: Trial, metric: str, budget: float | None) -> bool:
    if trial.error or trial.value(metric) is None:
        return False
    return budget is None or trial.metrics.get(LATENCY_KEY, float("inf")) <= budget


def pick_best(
    trials: Sequence[Trial], metric: str, *, higher_is_better: bool = True, latency_budget_ms: float | None = None
) -> Trial | None:
    """The trial with the best ``metric`` among those within the p95 latency budget (None if none fits)."""
    ok = [t for t in trials if _feasible(t, metric, latency_budget_ms)]
    if not ok:
        return None
    sign = 1 if higher_is_better else -1
    return max(ok, key=lambda t: (sign * t.value(metric), -t.metrics.get(LATENCY_KEY, 0.0)))


RunOne = Callable[[list[str], str | None], Trial]
# Runs several combinations at once (e.g. as Ray tasks: ragbench.evaluation._ray_sweep); trials in the combos' order.
RunMany = Callable[[list[list[str]], str | None], list[Trial]]


def _greedy(
    overrides: Sequence[str], run_many: RunMany, parent: str | None, metric: str, hib: bool, budget: float | None
) -> list[Trial]:
    """One swept key at a time; a stage's combinations are run together (in parallel on Ray)."""
    fixed, axes = sweep_axes(overrides)
    choice = {k: values[0] for k, values in axes}
    cache: dict[tuple[str, ...], Trial] = {}
    for key, values in axes:
        combos = {value: [*fixed, *(f"{k}={value if k == key else choice[k]}" for k, _ in axes)] for value in values}
        new = list({tuple(c): c for c in combos.values() if tuple(c) not in cache}.values())
        cache.update((tuple(c), t) for c, t in zip(new, run_many(new, parent)))
        stage = [(value, cache[tuple(combo)]) for value, combo in combos.items()]
        best = pick_best([t for _, t in stage], metric, higher_is_better=hib, latency_budget_ms=budget)
        if best is not None:
            choice[key] = next(v for v, t in stage if t is best)
    return list(cache.values())


def _tpe(
    overrides: Sequence[str],
    run_many: RunMany,
    parent: str | None,
    metric: str,
    hib: bool,
    budget: float | None,
    trials: int,
    seed: int = 0,
) -> list[Trial]:
    """Optuna's TPE sampler over the swept values (a kept search library); the latency budget is a constraint."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    fixed, axes = sweep_axes(overrides)
    cache: dict[tuple[str, ...], Trial] = {}

    def objective(trial):
        combo = [*fixed, *(f"{key}={trial.suggest_categorical(key, values)}" for key, values in axes)]
        if tuple(combo) not in cache:  # TPE may propose a combination twice: it runs once
            cache[tuple(combo)] = run_many([combo], parent)[0]
        done = cache[tuple(combo)]
        excess = done.metrics.get(LATENCY_KEY, float("inf")) - budget if budget is not None else 0.0
        trial.set_user_attr("latency_excess_ms", excess)
        if done.error or done.value(metric) is None:
            raise optuna.TrialPruned(done.error or f"no {metric}")
        return done.value(metric)

    constraints = (lambda frozen: [frozen.user_attrs.get("latency_excess_ms", 0.0)]) if budget is not None else None
    sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)
    study = optuna.create_study(direction="maximize" if hib else "minimize", sampler=sampler)
    study.optimize(objective, n_trials=trials)
    return list(cache.values())


def run_sweep(
    overrides: Sequence[str],
    run_one: RunOne,
    *,
    tracker=None,
    metric: str | None = None,
    higher_is_better: bool = True,
    latency_budget_ms: float | None = None,
    strategy: str = "grid",
    trials: int = 20,
    announce: Callable[[str], None] | None = None,
    run_many: RunMany | None = None,
) -> SweepResult:
    """Run every combination (``grid``), a node-by-node search (``greedy``, as AutoRAG does) or Optuna's TPE
    sampler for ``trials`` proposals (``tpe``), as children of one parent run.

    ``run_one(overrides, parent_run_id)`` runs one combination and returns its :class:`Trial`;
    ``announce`` gets a label before each, e.g. ``[3/6] retriever=dense k=5``. ``run_many(combos,
    parent_run_id)``, when given, runs several combinations at once instead (the whole grid, or one
    greedy stage; TPE proposes one at a time), e.g. as Ray tasks
    (:func:`ragbench.evaluation._ray_sweep.ray_trials`, ``executor=ray``).
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"Unknown search strategy {strategy!r}; valid: {', '.join(STRATEGIES)}.")
    if strategy in ("greedy", "tpe") and metric is None:
        raise ConfigError(f"The {strategy} search needs a metric to optimise, e.g. --search ndcg@10.")
    from ragbench.tracking import NullTracker

    tracker = tracker or NullTracker()
    many = _many(run_one, run_many, overrides, announce, total=trials if strategy == "tpe" else None)
    tags = {"ragbench.kind": "sweep", "ragbench.sweep": " ".join(overrides), "ragbench.strategy": strategy}
    from ragbench.tracking.parent import inherited_parent

    with tracker.start_run(run_name=f"sweep-{strategy}", tags=tags, parent_run_id=inherited_parent(tracker)) as parent:
        if strategy == "greedy":
            done = _greedy(overrides, many, parent, metric, higher_is_better, latency_budget_ms)
        elif strategy == "tpe":
            done = _tpe(overrides, many, parent, metric, higher_is_better, latency_budget_ms, trials)
        else:
            done = many(expand_sweep(overrides), parent)
        result = SweepResult(done, parent, metric=metric, latency_budget_ms=latency_budget_ms)
        if metric:
            result.best = pick_best(
                done, metric, higher_is_better=higher_is_better, latency_budget_ms=latency_budget_ms
            )
        _log_parent(tracker, result)
    return result


def _many(
    run_one: RunOne,
    run_many: RunMany | None,
    overrides: Sequence[str],
    announce: Callable[[str], None] | None,
    *,
    total,
) -> RunMany:
    """One ``run_many``: ``run_many`` itself, or ``run_one`` for each combination in turn; each announced as
    ``[i/n] <swept overrides>`` (``[i]`` when n is not known) before it runs (or is dispatched)."""
    from ragbench.evaluation.naming import swept_keys, trial_label

    try:
        combos = expand_sweep(overrides)
    except ConfigError:
        combos = []
    swept, count = swept_keys(combos), itertools.count(1)
    total = total or (len(combos) if combos else None)

    def label(combo: list[str]) -> None:
        if announce is not None:
            i = next(count)
            announce((f"[{i}/{total}] " if total else f"[{i}] ") + trial_label(combo, swept))

    def many(batch: list[list[str]], parent: str | None) -> list[Trial]:
        if run_many is not None:
            for combo in batch:
                label(combo)
            return run_many(batch, parent) if batch else []
        done = []
        for combo in batch:
            label(combo)
            done.append(run_one(combo, parent))
        return done

    return many


def _log_parent(tracker, result: SweepResult) -> None:
    rows = [
        {"overrides": " ".join(t.overrides), "run_id": t.run_id, "error": t.error, **t.metrics} for t in result.trials
    ]
    tracker.log_table(rows, "sweep")
    from ragbench.tracking.metric_names import mlflow_key

    counts = {"sweep.trials": len(result.trials), "sweep.failed_trials": sum(1 for t in result.trials if t.error)}
    tracker.log_metrics({mlflow_key(k): v for k, v in counts.items()})  # sweep/trials, sweep/failed_trials
    figure = sweep_figure(result)
    if figure is not None:
        tracker.log_figure(figure, SWEEP_FIGURE)
    if result.best is not None and getattr(tracker, "client", None) is not None and tracker.run_id:
        tracker.client.set_tag(tracker.run_id, "ragbench.best_run_id", result.best.run_id or "")
        tracker.client.set_tag(tracker.run_id, "ragbench.best_overrides", " ".join(result.best.overrides))


def sweep_figure(result: SweepResult):
    """Quality vs p95 latency of the finished trials, with 95% CI bars and the Pareto front; ``None`` when no
    trial has both. Quality is the search metric, else the first metric with a CI."""
    import pandas as pd

    from ragbench.evaluation.naming import swept_keys, trial_label
    from ragbench.plotting import quality_vs_latency

    done = [t for t in result.trials if not t.error and LATENCY_KEY in t.metrics]
    metric = result.metric or next(
        (k for t in done for k in t.metrics if f"{k}.ci_low" in t.metrics and not k.startswith("latency.")), None
    )
    done = [t for t in done if metric is not None and t.metrics.get(metric) is not None]
    if not done:
        return None
    swept = swept_keys([t.overrides for t in done])
    table = pd.DataFrame([{**t.metrics, "trial": trial_label(t.overrides, swept)} for t in done])
    return quality_vs_latency(
        table, quality=metric, latency=LATENCY_KEY, label="trial", title=f"Sweep: {metric} vs p95 latency"
    )


def sweep_table(result: SweepResult, metrics: Sequence[str]) -> TextTable:
    """One row per trial with its metrics, p95 latency and run id; the best marked ``*``."""
    cols = [*metrics, LATENCY_KEY]
    header = ["", "overrides", *[c.replace("latency.total_ms.p95", "total_ms.p95") for c in cols], "run_id"]
    rows = []
    for t in result.trials:
        cells = ["*" if t is result.best else "", " ".join(t.overrides)]
        cells += [f"{t.metrics[c]:.4f}" if c in t.metrics else ("FAILED" if t.error else "-") for c in cols]
        rows.append([*cells, t.run_id or "-"])
    return TextTable(header, rows, title="Sweep", left=frozenset({1, len(header) - 1}))


def sweep_footer(result: SweepResult) -> str:
    """Failed trials and the best combination, one line each."""
    lines = [f"failed: {' '.join(t.overrides)}: {t.error}" for t in result.trials if t.error]
    if result.metric:
        budget = f" within p95 <= {result.latency_budget_ms:g} ms" if result.latency_budget_ms is not None else ""
        lines.append(
            f"best {result.metric}{budget}: " + (" ".join(result.best.overrides) if result.best else "none fits")
        )
    return "\n".join(lines)


def format_sweep(result: SweepResult, metrics: Sequence[str]) -> str:
    """Summary table (plain text) and :func:`sweep_footer`."""
    return "\n".join(x for x in (sweep_table(result, metrics).plain(), sweep_footer(result)) if x)


def experiment_trial(overrides: list[str], parent_run_id: str | None) -> Trial:
    """Run one combination with :func:`~ragbench.evaluation.run.run_experiment`; errors are recorded."""
    from ragbench.config import build
    from ragbench.evaluation.naming import compose_named
    from ragbench.evaluation.run import run_experiment

    try:
        result = run_experiment(build(compose_named(overrides)), parent_run_id=parent_run_id)
    except RagbenchError as exc:
        return Trial(list(overrides), error=str(exc))
    return Trial(list(overrides), run_id=result.run_id, metrics=dict(result.report.overall), rows=result.report.rows())
