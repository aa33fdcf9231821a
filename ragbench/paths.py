"""Where ragbench finds its configs, its project root and the shared datasets (a leaf: standard library only)."""

from __future__ import annotations

import os
from pathlib import Path

from ragbench.errors import ConfigError

__all__ = ["config_dir", "project_root", "shared_data_dir"]


def project_root() -> Path:
    """The folder holding ``configs/`` (a source checkout), or ``$RAGBENCH_PROJECT_ROOT``."""
    env = os.environ.get("RAGBENCH_PROJECT_ROOT")
    root = Path(env) if env else Path(__file__).resolve().parent.parent
    return root.resolve()


def config_dir() -> Path:
    path = Path(os.environ.get("RAGBENCH_CONFIG_DIR") or project_root() / "configs").resolve()
    if not (path / "config.yaml").is_file():
        raise ConfigError(
            f"No configs/config.yaml under {path}. Run ragbench from a source checkout, or set "
            "RAGBENCH_CONFIG_DIR to a folder of ragbench configs."
        )
    return path


def shared_data_dir() -> Path:
    """``$RAGBENCH_SHARED_DATA``, else ``../shared/data`` next to the project."""
    env = os.environ.get("RAGBENCH_SHARED_DATA")
    return Path(env).resolve() if env else (project_root().parent / "shared" / "data").resolve()
