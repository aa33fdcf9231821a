"""Nesting runs made in another process (a notebook's kernel) under a run of this one.

A notebook pipeline runs each stage's notebook in a papermill kernel, a child process. While it
runs, :func:`nested_under` puts the stage's MLflow run id and tracking URI in the environment the
kernel inherits; the evaluation runs, sweeps and DSPy runs the notebook starts read it back with
:func:`inherited_parent` and become children of that run (tag ``mlflow.parentRunId``), so the
pipeline's parent run holds the whole tree. A tracker with another tracking URI is not nested:
a parent id from another store would point nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PARENT_RUN_ENV = "RAGBENCH_PARENT_RUN_ID"
PARENT_URI_ENV = "RAGBENCH_PARENT_TRACKING_URI"


@contextmanager
def nested_under(run_id: str | None, tracking_uri: str | None) -> Iterator[None]:
    """Within the block, processes started from here nest their runs under ``run_id`` (no-op without one).

    Example:
        >>> with nested_under("3f2a", "sqlite:////tmp/rb/mlflow.db"):  # doctest: +SKIP
        ...     papermill.execute_notebook(...)
    """
    if not run_id or not tracking_uri:
        yield
        return
    saved = {k: os.environ.get(k) for k in (PARENT_RUN_ENV, PARENT_URI_ENV)}
    os.environ[PARENT_RUN_ENV], os.environ[PARENT_URI_ENV] = run_id, tracking_uri
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def inherited_parent(tracker: Any) -> str | None:
    """The run id to nest under, when this process was started inside :func:`nested_under` for the same
    tracking URI as ``tracker``'s; else ``None``."""
    run_id, uri = os.environ.get(PARENT_RUN_ENV), os.environ.get(PARENT_URI_ENV)
    if not run_id or not uri or uri != getattr(tracker, "tracking_uri", None):
        return None
    return run_id
