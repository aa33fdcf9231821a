"""Who runs this process, and whether a recorded process is still alive (for runs and jobs left
behind by a crash or ``kill -9``)."""

from __future__ import annotations

import os
import socket


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
