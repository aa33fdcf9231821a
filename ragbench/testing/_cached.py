"""Build a tiny test model once into the shared test-model cache folder (atomic: build aside, then rename)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cached_model(name: str, builder: Callable[[Path], object], *, marker: str = "config.json") -> Path:
    """``<cache>/<name>``, built by ``builder(tmp_dir)`` on first use; concurrent callers never see half a model.

    ``marker`` is a file every finished build holds (``modules.json`` for a sentence-transformers folder).
    """
    from ragbench.testing.tiny_qwen2 import cache_dir

    out = cache_dir() / name
    if (out / marker).is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out.parent))
    try:
        builder(tmp)
        try:
            os.rename(tmp, out)
        except OSError:  # another process finished first
            if not (out / marker).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
