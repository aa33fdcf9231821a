"""``ragbench serve-llm``: run a supervised local vLLM server until interrupted."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add the ``serve-llm`` subcommand (vLLM is imported only when it runs)."""
    p = subparsers.add_parser(
        "serve-llm",
        help="Run a local vLLM OpenAI-compatible server, restarting it if it dies (Ctrl-C stops it).",
    )
    p.add_argument(
        "--model",
        default=None,
        help="Local model folder or catalogue name (default: the configured llm, e.g. smollm2-135m-instruct).",
    )
    p.add_argument(
        "--name", default=None, help="Served model name (default: the llm's served_name, else the folder name)."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-model-len", type=int, default=None, help="Context length (default: the llm's max_model_len).")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--max-restarts", type=int, default=3)
    p.add_argument("--startup-timeout", type=float, default=240.0)
    p.add_argument("--log", default=None, help="Server log file (default: a temporary file).")
    p.add_argument("overrides", nargs="*", help="Hydra overrides choosing the model, e.g. llm=gemma3_270m.")
    p.set_defaults(func=_cmd_serve_llm)


def _cmd_serve_llm(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ragbench.serving.vllm_server import VLLMServer

    model, name, max_len = args.model, args.name, args.max_model_len
    if model is None:  # the configured llm, as generator=openai and the judge expect it
        from ragbench.config import compose

        llm = compose(args.overrides).llm
        model, name, max_len = str(llm.path), name or str(llm.served_name), max_len or int(llm.max_model_len)
    server = VLLMServer(
        model,
        served_model_name=name,
        host=args.host,
        port=args.port,
        dtype=args.dtype,
        max_model_len=max_len or 2048,
        max_restarts=args.max_restarts,
        startup_timeout=args.startup_timeout,
        log_path=args.log,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"starting vLLM for {model} (log: {server.log_path or 'temporary file'}) ...", flush=True)
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
