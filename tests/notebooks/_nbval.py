"""Run nbval (--nbval-lax) on executed notebooks in a separate pytest process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_nbval(notebooks: Sequence[Path], *, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``pytest --nbval-lax`` on ``notebooks`` (only nbval loaded, no repo config), output captured."""
    full_env = {**os.environ, **(env or {}), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "nbval.plugin", "-p", "no:cacheprovider",
         "-o", "addopts=", f"--rootdir={cwd}", *map(str, notebooks)],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=900,
    )
