"""The ``ragbench`` command line. Heavy libraries are imported only by the commands that need them.

ragbench run [OVERRIDES...]                     evaluate (index if needed), log to MLflow
ragbench ingest [OVERRIDES...]                  index the configured dataset
ragbench ingest --tenant T --path FILE_OR_DIR   ingest files as a durable job
ragbench query --tenant T "question" [--history FILE] [OVERRIDES...]
ragbench schema                                 JSON Schema of the query API
ragbench serve [--open] [OVERRIDES...]          the query API over HTTP (ragbench keys create ... first)
"""

from __future__ import annotations

import argparse
import json
import sys
from argparse import SUPPRESS
from collections.abc import Sequence

from ragbench.errors import ConfigError, DiskError, RagbenchError

# Modules that add subcommands: each defines ``register(subparsers)`` and imports heavy
# libraries only inside its handlers.
PLUGINS: tuple[str, ...] = (
    "ragbench.cli.models",
    "ragbench.cli.serving",
    "ragbench.cli.pipeline",
    "ragbench.cli.dashboard",
    "ragbench.cli.ingest",
    "ragbench.cli.evaluate",
    "ragbench.cli.serve",
)

OVERRIDES_HELP = "Hydra overrides, e.g. dataset=beir_scifact retriever=bm25 k=5 (see configs/)."
VERBOSE_HELP = "Show the libraries' own output (MLflow INFO, lance warnings, model-loading bars) instead of <home>/logs/ragbench.log."
# Commands whose third-party output goes to the log file unless -v is given.
QUIET_COMMANDS = ("run", "ingest", "query", "compare")


def _cmd_run(args: argparse.Namespace) -> int:
    if args.multirun or args.search:
        from ragbench.cli.evaluate import cmd_sweep

        return cmd_sweep(args)
    from ragbench._table import show
    from ragbench.config import build
    from ragbench.errors import MetricFailureRateError
    from ragbench.evaluation.naming import compose_named
    from ragbench.evaluation.report import report_table
    from ragbench.evaluation.run import run_experiment

    cfg = compose_named(args.overrides)
    if args.cfg or args.info:
        from ragbench.cli.evaluate import print_config

        return print_config(cfg, args)
    parts = build(cfg)
    try:
        result = run_experiment(parts)
    except MetricFailureRateError as exc:  # the table still shows what was measured, then the error
        if exc.report is not None:
            show(report_table(exc.report))
        raise
    show(report_table(result.report))
    if getattr(parts.generator, "random_weights", False):
        print("WARNING: answers came from a RANDOM-WEIGHT test model: answer metrics above are noise.")
    cached = int(result.report.overall.get("answers.cached", 0))
    if cached:
        print(
            f"{cached} answers came from the generation cache (identical earlier requests): their latency is not "
            "a fresh generation's (generation_cache=null turns the cache off)."
        )
    for s in result.index_stats:
        print(f"indexed {s.summary()}")
    print(f"run {result.run_name!r} finished in {result.seconds:.1f}s; MLflow run id: {result.run_id}")
    print(mlflow_ui_hint(parts.tracker))
    return 0


def mlflow_ui_hint(tracker) -> str:
    """The command that shows the runs of ``tracker`` in the MLflow UI."""
    uri = getattr(tracker, "tracking_uri", None)
    if not uri:
        return "tracking is off (tracking=none): nothing was logged to MLflow."
    return f"see it in MLflow: mlflow ui --backend-store-uri {uri}"


def _cmd_ingest(args: argparse.Namespace) -> int:
    if args.path or args.tenant:
        from ragbench.cli.ingest import ingest_path_command

        if not (args.path and args.tenant):
            raise ConfigError("ragbench ingest needs both --tenant and --path (or neither, to index the dataset).")
        return ingest_path_command(args)
    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset

    for s in ingest_dataset(build(compose(args.overrides))):
        print(f"{s.summary()} (job {s.job_id})")
    return 0


def read_history(path: str) -> tuple[tuple[str, str], ...]:
    """Earlier turns from a JSON file: a list of ``{"question": ..., "answer": ...}`` objects (oldest first)."""
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"--history file {path!r} does not exist.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--history file {path!r} is not valid JSON ({exc}).") from exc
    turns = []
    for n, turn in enumerate(data if isinstance(data, list) else [None], 1):
        if not (
            isinstance(turn, dict) and isinstance(turn.get("question"), str) and isinstance(turn.get("answer"), str)
        ):
            raise ConfigError(
                f"--history file {path!r}: turn {n} is {turn!r:.80}; expected a JSON list of "
                '{"question": "...", "answer": "..."} objects, oldest first.'
            )
        turns.append((turn["question"], turn["answer"]))
    return tuple(turns)


def _cmd_query(args: argparse.Namespace) -> int:
    from ragbench.config import build, compose
    from ragbench.schema import QueryRequest

    request = QueryRequest(question=args.question, tenant=args.tenant, k=args.k, language=args.language)
    history = read_history(args.history) if args.history else ()
    parts = build(compose(args.overrides))
    load_ms = parts.warm_up([request.tenant])  # models and tables load before the stage timers start
    response = parts.pipeline.ask(request, history=history)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    print(response.answer or "(no answer)")
    standalone = ((response.trace or {}).get("notes") or {}).get("standalone")
    if standalone and standalone != request.question:
        print(f"searched for: {standalone}")
    for src in response.sources:
        mark = "*" if src.cited else " "
        print(f" {mark}[{src.rank + 1}] {src.doc_id}  {src.score:.4f}  {src.title}")
    t = response.timings
    print(
        f"load {load_ms:.0f} ms (models and tables, once per process), then retrieve {t.retrieve_ms:.1f} ms, "
        f"generate {t.generate_ms:.1f} ms, total {t.total_ms:.1f} ms; "
        f"question language: {response.detected_language or 'not detected'}"
    )
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from ragbench.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragbench", description="Build, evaluate and compare RAG pipelines.")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="Evaluate the configured pipeline on a dataset and log it to MLflow.")
    p.add_argument("overrides", nargs="*", help=OVERRIDES_HELP)
    from ragbench.cli.evaluate import add_run_arguments

    add_run_arguments(p)
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("ingest", help="Index the configured dataset's documents into the tenant stores.")
    p.add_argument("--tenant", default=None, help="With --path: ingest files into this tenant as a durable job.")
    p.add_argument("--path", default=None, help="A file or folder (txt, md, html, pdf, docx, jsonl) to ingest.")
    p.add_argument("overrides", nargs="*", help=OVERRIDES_HELP)
    p.set_defaults(func=_cmd_ingest)
    p = sub.add_parser("query", help="Answer one question from a tenant's documents.")
    p.add_argument("question")
    p.add_argument("--tenant", required=True, help="Tenant id, e.g. acme-robotics.")
    p.add_argument("-k", type=int, default=5, help="Chunks to retrieve (default 5).")
    p.add_argument("--language", default=None, help="Answer language (ISO 639-1); default: the question's, detected.")
    p.add_argument("--json", action="store_true", help="Print the QueryResponse as JSON.")
    p.add_argument(
        "--history",
        metavar="FILE",
        default=None,
        help='A follow-up: JSON list of earlier turns [{"question": ..., "answer": ...}], oldest first. '
        "The question and the conversation become a standalone question (method=conversational).",
    )
    p.add_argument("overrides", nargs="*", help=OVERRIDES_HELP)
    p.set_defaults(func=_cmd_query)
    p = sub.add_parser("schema", help="Print the JSON Schema of the query request and response.")
    p.set_defaults(func=_cmd_schema)
    import importlib

    for module in PLUGINS:
        importlib.import_module(module).register(sub)
    for name in QUIET_COMMANDS:  # `ragbench run -v ...` as well as `ragbench -v run ...`
        sub.choices[name].add_argument("-v", "--verbose", action="store_true", default=SUPPRESS, help=VERBOSE_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in QUIET_COMMANDS:  # before any library that reads its log settings is imported
        from ragbench._quiet import quiet

        quiet(_log_home(args), verbose=args.verbose)
    try:
        return args.func(args)
    except RagbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # pydantic validation of a request is a user error too, and so is a full disk
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            print(f"error: invalid request: {exc}", file=sys.stderr)
            return 2
        disk = DiskError.from_exception(exc, what=f"ragbench {args.command}", where=_home(args))
        if disk is not None:
            print(f"error: {disk}", file=sys.stderr)
            return 2
        raise


def _home(args: argparse.Namespace) -> str:
    """The ragbench home of this command's config (where it writes), for error messages."""
    try:
        from ragbench.config import compose

        return str(compose(list(getattr(args, "overrides", None) or [])).home)
    except Exception:
        return "the ragbench home (home=...)"


def _log_home(args: argparse.Namespace) -> str | None:
    """The home the log file goes under; ``None`` when the overrides do not compose (the command says why)."""
    try:
        from ragbench.config import compose

        return str(compose(list(getattr(args, "overrides", None) or [])).home)
    except Exception:
        return None
