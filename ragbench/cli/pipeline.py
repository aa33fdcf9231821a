"""``ragbench pipeline``: run papermill pipelines of notebooks (see :mod:`ragbench.notebooks.pipeline`).

ragbench pipeline list
ragbench pipeline run NAME [OVERRIDES...] [-p KEY=VALUE ...] [--runs-dir runs] [--resume]
ragbench pipeline resume [RUN_DIR | NAME] [--runs-dir runs]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

RUNS_HELP = "Folder of pipeline runs (default: runs); a run goes into <runs-dir>/<pipeline>/<timestamp>/."


def _runner(args: argparse.Namespace):
    from ragbench.notebooks.pipeline import NotebookPipeline

    return NotebookPipeline(
        progress=not args.no_progress, kernel_name=args.kernel, echo=lambda line: print(line, flush=True)
    )


def _report(run) -> int:
    for path in run.notebooks():
        print(f"  executed: {path}")
    if run.parent_run_id:
        print(f"MLflow parent run id: {run.parent_run_id}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from ragbench.notebooks.spec import load_pipeline, pipeline_names

    for name in pipeline_names():
        spec = load_pipeline(name)
        print(f"{name:<14} {' -> '.join(s.name for s in spec.stages)}  {spec.description}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from ragbench.notebooks.pipeline import latest_run_dir
    from ragbench.notebooks.spec import load_pipeline, parse_parameter

    if args.resume:
        return _report(_runner(args).resume(latest_run_dir(args.runs_dir, load_pipeline(args.name).name)))
    params = dict(parse_parameter(p) for p in args.param)
    return _report(_runner(args).run(args.name, overrides=args.overrides, parameters=params, runs_dir=args.runs_dir))


def _cmd_resume(args: argparse.Namespace) -> int:
    from ragbench.notebooks.pipeline import STATE_FILE, latest_run_dir

    target = args.target
    if target is None or not (Path(target) / STATE_FILE).is_file():
        if target is None:
            print("error: give the run folder (runs/<pipeline>/<timestamp>) or a pipeline name", file=sys.stderr)
            return 2
        target = latest_run_dir(args.runs_dir, target)
    return _report(_runner(args).resume(target))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-dir", default="runs", help=RUNS_HELP)
    p.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's, python3).")
    p.add_argument("--no-progress", action="store_true", help="Hide papermill's per-cell progress bar.")


def register(subparsers) -> None:
    """Add ``ragbench pipeline {list,run,resume}``."""
    pipe = subparsers.add_parser("pipeline", help="Run notebook pipelines (configs/pipeline/*.yaml) with papermill.")
    sub = pipe.add_subparsers(dest="pipeline_command", required=True)
    p = sub.add_parser("list", help="List the pipelines in configs/pipeline/.")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("run", help="Execute a pipeline's notebooks into runs/<pipeline>/<timestamp>/.")
    p.add_argument("name", help="Pipeline name (configs/pipeline/NAME.yaml) or path of a pipeline .yaml file.")
    p.add_argument(
        "overrides", nargs="*", help="Hydra overrides appended to every stage's overrides, e.g. max_queries=10."
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Notebook parameter for every stage (value read as YAML), e.g. -p dataset=demo.",
    )
    p.add_argument("--resume", action="store_true", help="Continue the latest unfinished run of this pipeline instead.")
    _common(p)
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("resume", help="Continue a failed pipeline run from its failed stage.")
    p.add_argument(
        "target",
        nargs="?",
        help="Run folder (runs/<pipeline>/<timestamp>) or pipeline name (its latest unfinished run).",
    )
    _common(p)
    p.set_defaults(func=_cmd_resume)
