"""Quiet by default: third-party chatter goes to a log file, not into reports.

Each library is told through the environment variable it reads when it is imported, so :func:`quiet`
must run before they are (the CLI calls it right after parsing its arguments):

- ``LANCEDB_LOG=error``: lance's Rust ``WARN lance::dataset::scanner`` deprecation lines;
- ``MLFLOW_CONFIGURE_LOGGING=false``: MLflow adds no console handler, so its INFO lines reach Python
  logging, and so the log file;
- ``TRANSFORMERS_VERBOSITY=error`` and ``HF_HUB_DISABLE_PROGRESS_BARS=1``: the "Loading weights" bars;
- ``VLLM_CONFIGURE_LOGGING=0``: vLLM adds no console handler, so its ``(MainProcess pid=...) INFO``
  lines (``Loading weights took``, ``cpu_worker.py`` warnings, the ``Engine 000: Avg prompt
  throughput`` stats lines) reach Python logging, and so the log file; :func:`engine_settings` also
  turns off the in-process engine's "Loading safetensors checkpoint shards" bar;
- ``TORCH_CPP_LOG_LEVEL=ERROR``: libtorch's ``[W... utils.cpp] Warning: NUMA binding`` lines.

Python logging at INFO and above goes to ``<home>/logs/ragbench.log``, and so do other libraries'
Python warnings (``FutureWarning`` ...); ragbench's own warnings and log records at WARNING and above
still reach stderr. ``verbose=True`` (``ragbench -v``) leaves every library as it is.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

QUIET_ENV = {
    "LANCEDB_LOG": "error",
    "MLFLOW_CONFIGURE_LOGGING": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "VLLM_CONFIGURE_LOGGING": "0",
    "TORCH_CPP_LOG_LEVEL": "ERROR",
}
LOG_NAME = "logs/ragbench.log"
_mode: str | None = None  # "quiet" or "verbose" once the CLI has called quiet(); None in a notebook


def quiet(home: str | Path | None, *, verbose: bool = False) -> Path | None:
    """Silence third-party console output and route Python logging to ``<home>/logs/ragbench.log``.

    Returns the log file (``None`` when ``verbose`` or without a home). Variables already set in the
    environment win, so ``LANCEDB_LOG=warn ragbench run`` still shows lance's warnings.

    Example:
        >>> quiet("/tmp/rb-home")  # doctest: +SKIP
        PosixPath('/tmp/rb-home/logs/ragbench.log')
    """
    global _mode
    _mode = "verbose" if verbose else "quiet"
    if verbose:
        return None
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    _route_warnings()
    if home is None:
        return None
    path = Path(home).expanduser() / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:  # a read-only home: stay quiet, log nowhere
        handler, path = logging.NullHandler(), None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_ragbench", False)]
    handler._ragbench = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    own = logging.StreamHandler()
    own.setLevel(logging.WARNING)
    own.addFilter(logging.Filter("ragbench"))
    own._ragbench = True  # type: ignore[attr-defined]
    root.addHandler(own)
    return path


def _route_warnings() -> None:
    """Other libraries' Python warnings go to the ``py.warnings`` logger (the log file); ragbench's stay on stderr."""
    show = getattr(warnings.showwarning, "_ragbench_original", warnings.showwarning)

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("ragbench"):
            return show(message, category, filename, lineno, file, line)
        text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
        logging.getLogger("py.warnings").warning(text)
        return None

    showwarning._ragbench_original = show  # type: ignore[attr-defined]
    warnings.showwarning = showwarning


def engine_settings() -> dict[str, Any]:
    """``vllm.LLM`` arguments that keep an in-process engine as quiet as the rest of the run.

    Quiet (the CLI's default): no weight-loading bar, and torch's own loggers (``Triton not
    available`` ...) write to the log file instead of stderr. Verbose (``ragbench -v``) and outside
    the CLI (notebooks): nothing changes. The engine's stats stay on either way (the generator sets
    ``disable_log_stats=False``: TTFT comes from them); their periodic lines follow vLLM's logger.
    """
    if _mode != "quiet":
        return {}
    torch_log = logging.getLogger("torch")  # torch gives it its own stderr handler at import
    for handler in list(torch_log.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            torch_log.removeHandler(handler)
    torch_log.propagate = True
    return {"use_tqdm_on_load": False}
