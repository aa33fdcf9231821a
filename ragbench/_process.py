"""Who runs this process, and whether a recorded process is still alive (for runs and jobs left
behind by a crash or ``kill -9``)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable


def process_owner() -> dict:
    """``{"pid": ..., "host": ...}`` of this process, to record next to what it writes."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this machine (a reused pid also counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_dead(owner: dict) -> bool:
    """True only when ``owner`` (from :func:`process_owner`) ran on this host and its pid is gone;
    an owner on another host, or an unknown one, is never declared dead."""
    pid, host = owner.get("pid"), owner.get("host")
    return isinstance(pid, int) and host == socket.gethostname() and not pid_alive(pid)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` that makes the child get SIGTERM when its parent dies.

    A server started in its own session (``start_new_session=True``) otherwise outlives a parent killed
    with SIGKILL or SIGTERM (e.g. an interrupted pytest run leaving its vLLM servers and dashboards up).
    Linux's ``prctl(PR_SET_PDEATHSIG)`` fires when the *thread* that started the child exits, so start
    such children from a thread that lives as long as they should (the main thread, or a supervisor's).
    ``None`` where ``prctl`` is not available (not Linux): the child then outlives its parent as before.
    """
    import ctypes
    import ctypes.util
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1

    def _preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return _preexec
