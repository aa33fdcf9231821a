"""Quiet by default: third-party chatter goes to a log file, not into reports.

Each library is told through the environment variable it reads when it is imported, so :func:`quiet`
must run before they are (the CLI calls it right after parsing its arguments):

- ``LANCEDB_LOG=error``: lance's Rust ``WARN lance::dataset::scanner`` deprecation lines;
- ``MLFLOW_CONFIGURE_LOGGING=false``: MLflow adds no console handler, so its INFO lines reach Python
  logging, and so the log file;
- ``TRANSFORMERS_VERBOSITY=error`` and ``HF_HUB_DISABLE_PROGRESS_BARS=1``: the "Loading weights" bars.

Python logging at INFO and above goes to ``<home>/logs/ragbench.log``; ragbench's own warnings still
reach stderr. ``verbose=True`` (``ragbench -v``) leaves every library as it is.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

QUIET_ENV = {
    "LANCEDB_LOG": "error",
    "MLFLOW_CONFIGURE_LOGGING": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}
LOG_NAME = "logs/ragbench.log"


def quiet(home: str | Path | None, *, verbose: bool = False) -> Path | None:
    """Silence third-party console output and route Python logging to ``<home>/logs/ragbench.log``.

    Returns the log file (``None`` when ``verbose`` or without a home). Variables already set in the
    environment win, so ``LANCEDB_LOG=warn ragbench run`` still shows lance's warnings.

    Example:
        >>> quiet("/tmp/rb-home")  # doctest: +SKIP
        PosixPath('/tmp/rb-home/logs/ragbench.log')
    """
    if verbose:
        return None
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
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
