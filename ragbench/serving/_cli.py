"""``ragbench serve-llm``: run a supervised local vLLM server until interrupted."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add the ``serve-llm`` subcommand (vLLM is imported only when it runs)."""
    p = subparsers.add_parser(
        "serve-llm",
        help="Run a local vLLM OpenAI-compatible server, restarting it if it dies (Ctrl-C stops it).",
    )
    p.add_argument("--model", required=True, help="Local model folder (nothing is downloaded).")
    p.add_argument("--name", default=None, help="Served model name (default: the folder name).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-model-len", type=int, default=512)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--max-restarts", type=int, default=3)
    p.add_argument("--startup-timeout", type=float, default=240.0)
    p.add_argument("--log", default=None, help="Server log file (default: a temporary file).")
    p.set_defaults(func=_cmd_serve_llm)


def _cmd_serve_llm(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ragbench.serving.vllm_server import VLLMServer

    server = VLLMServer(
        args.model, served_model_name=args.name, host=args.host, port=args.port, dtype=args.dtype,
        max_model_len=args.max_model_len, max_restarts=args.max_restarts,
        startup_timeout=args.startup_timeout, log_path=args.log,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"starting vLLM for {args.model} (log: {server.log_path or 'temporary file'}) ...", flush=True)
    server.start()
    print(f"ready: {server.base_url} (model name {server.served_model_name!r}, pid {server.pid})", flush=True)
    try:
        while not done.wait(1.0):
            if server.state == "failed":
                print(f"error: the server failed {server.restarts} restarts; log: {server.log_path}", flush=True)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("stopped", flush=True)
    return 0
