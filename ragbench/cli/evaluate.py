"""CLI pieces of the evaluation package: ``ragbench compare`` and ``ragbench run -m`` sweeps.

Imports nothing heavy at module level (the parser is built on every ``ragbench`` call).
"""

from __future__ import annotations

import argparse

OVERRIDES_HELP = "Hydra overrides for home/tracking, e.g. home=/path/to/.ragbench (where the runs were logged)."


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``ragbench run`` for sweeps and pipeline search."""
    parser.add_argument(
        "-m",
        "--multirun",
        action="store_true",
        help="Sweep: run every combination of comma lists (retriever=bm25,dense k=5,10) as child runs.",
    )
    parser.add_argument(
        "--search",
        metavar="METRIC",
        default=None,
        help="Pick the best combination for METRIC (e.g. ndcg@10); implies --multirun.",
    )
    parser.add_argument(
        "--latency-budget-ms",
        type=float,
        default=None,
        help="Only combinations whose p95 total latency per question is within this budget qualify.",
    )
    parser.add_argument(
        "--strategy",
        choices=("grid", "greedy", "tpe"),
        default="grid",
        help="grid: every combination; greedy: one swept key at a time, as AutoRAG's node-by-node "
        "search; tpe: Optuna's TPE sampler for --trials proposals.",
    )
    parser.add_argument("--trials", type=int, default=20, help="Proposals of --strategy tpe (default 20).")
    parser.add_argument("--lower-is-better", action="store_true", help="The --search metric is minimised.")
    parser.add_argument(
        "--baseline",
        metavar="KEY=VALUE",
        default=None,
        help="Sweep: test every trial against the trial with this swept value (paired, per question), "
        "e.g. --baseline experiment=closed_book; prints a quality table.",
    )
    parser.add_argument(
        "--table-metric",
        action="append",
        default=None,
        help="Metrics of the --baseline table (repeatable; default: the answer metrics, e.g. em f1 match).",
    )
    parser.add_argument("--markdown", metavar="FILE", default=None, help="Also write the --baseline table to FILE.")
    parser.add_argument(
        "--cfg",
        choices=("job", "all"),
        default=None,
        help="As Hydra: print the composed configuration (resolved) and exit without running.",
    )
    parser.add_argument(
        "--info", action="store_true", help="As Hydra: print the config search path and the chosen defaults, then exit."
    )


def print_config(cfg, args: argparse.Namespace) -> int:
    """``ragbench run --cfg job`` (the composed config as YAML) or ``--info`` (search path and defaults)."""
    from omegaconf import OmegaConf

    from ragbench.config import GROUPS, config_dir, group_options

    if args.cfg:
        print(OmegaConf.to_yaml(cfg), end="")
        return 0
    root = config_dir()
    chosen = {}
    for item in OmegaConf.load(root / "config.yaml").get("defaults", []):
        if isinstance(item, dict) or OmegaConf.is_dict(item):
            chosen.update({str(k): v for k, v in dict(item).items()})
    for override in args.overrides:
        key, _, value = override.lstrip("+~").partition("=")
        if key in GROUPS:
            chosen[key] = value
    print(f"Config search path:\n  file://{root} (main config: config.yaml)")
    print("Defaults (group: chosen option; other options):")
    for group in GROUPS:
        others = [o for o in group_options(group) if o != str(chosen.get(group))]
        print(f"  {group}: {chosen.get(group)}  ({', '.join(others) or 'none'})")
    print(f"Overrides: {' '.join(args.overrides) or '(none)'}")
    print(f"Run name: {cfg.get('run_name')}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from ragbench._table import show
    from ragbench.config import build, compose
    from ragbench.evaluation.sweep import expand_sweep, experiment_trial, run_sweep, sweep_footer, sweep_table

    first = compose(expand_sweep(args.overrides)[0])
    tracker = build(first).tracker
    result = run_sweep(
        args.overrides,
        experiment_trial,
        tracker=tracker,
        metric=args.search,
        higher_is_better=not args.lower_is_better,
        latency_budget_ms=args.latency_budget_ms,
        strategy=args.strategy,
        trials=args.trials,
        announce=lambda label: print(label, flush=True),
        run_many=_ray_trials(args.overrides, first, tracker),
    )
    names = list(first.metrics.get("names") or [])
    if args.search and args.search not in names:
        names.append(args.search)
    show(sweep_table(result, names))
    if footer := sweep_footer(result):
        print(footer)
    print(f"parent MLflow run id: {result.parent_run_id}")
    if args.baseline:
        _baseline_table(args, result, names)
    return 1 if all(t.error for t in result.trials) else 0


def _ray_trials(overrides: list[str], first, tracker):
    """``executor=ray`` (given once, not swept): the sweep's trials run as Ray tasks; else ``None``."""
    from ragbench.evaluation._ray_sweep import check_not_swept, ray_trials
    from ragbench.evaluation.sweep import sweep_axes
    from ragbench.executor import ExecutorSettings

    check_not_swept(sweep_axes(overrides)[1])
    executor = ExecutorSettings.from_config(first.get("executor"))
    return ray_trials(executor, tracker) if executor.is_ray else None


def _baseline_table(args: argparse.Namespace, result, names: list[str]) -> None:
    import shlex
    import sys
    import time
    from pathlib import Path

    from ragbench.evaluation.table import compare_to_baseline, markdown_table

    metrics = args.table_metric or [m for m in names if "@" not in m]
    table = markdown_table(compare_to_baseline(result, args.baseline, metrics), metrics, baseline=args.baseline)
    print(table)
    if args.markdown:
        command = "ragbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        header = (
            f"<!-- written by `{command}` on {time.strftime('%Y-%m-%d %H:%M')}; "
            f"sweep parent MLflow run {result.parent_run_id} -->\n"
        )
        Path(args.markdown).write_text(header + table + "\n", encoding="utf-8")
        print(f"table written to {args.markdown}")


def _cmd_compare(args: argparse.Namespace) -> int:
    from ragbench._table import show
    from ragbench.config import build, compose
    from ragbench.evaluation.compare import compare_runs, comparison_heading, comparison_table

    tracker = build(compose(args.overrides)).tracker
    comparison = compare_runs(tracker, args.run_a, args.run_b, metrics=args.metric or None, log=not args.no_log)
    print(comparison_heading(comparison))
    show(comparison_table(comparison))
    if not args.no_log:
        print(f"comparison logged to MLflow ({tracker.tracking_uri})")
    return 0


def register(subparsers) -> None:
    """Add ``ragbench compare RUN_A RUN_B``."""
    p = subparsers.add_parser(
        "compare", help="Paired comparison of two runs: deltas, 95%% CIs and p-values per metric (logged to MLflow)."
    )
    p.add_argument("run_a", help="Baseline run: its MLflow run id, a unique prefix of it, or its run name.")
    p.add_argument("run_b", help="Run to compare against the baseline (id, id prefix or name; deltas are B - A).")
    p.add_argument("--metric", action="append", help="Only this metric (repeatable); default: all both runs have.")
    p.add_argument("--no-log", action="store_true", help="Do not log the comparison as an MLflow run.")
    p.add_argument("overrides", nargs="*", help=OVERRIDES_HELP)
    p.set_defaults(func=_cmd_compare)
