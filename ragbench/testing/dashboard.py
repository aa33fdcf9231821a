"""Run a real ``ragbench dashboard`` in a child process, for browser tests, load tests and demos.

Example:
    >>> users = write_users_file(home / "users.json", {"alice": ("pw", "user", ["acme-robotics"])})  # doctest: +SKIP
    >>> with served_dashboard(home, users) as url:  # doctest: +SKIP
    ...     urllib.request.urlopen(url + "/login")
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

COOKIE_SECRET = "test-cookie-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_users_file(path: Path, users: Mapping[str, tuple[str, str, Sequence[str]]], *, iterations: int = 20_000) -> Path:
    """Write a users file from ``{name: (password, role, tenants)}`` (hashes with fewer iterations, for speed)."""
    from ragbench.dashboard.auth import hash_password

    data = {"users": {
        name: {"password_hash": hash_password(pw, iterations=iterations), "role": role, "tenants": list(tenants)}
        for name, (pw, role, tenants) in users.items()
    }}
    path.write_text(json.dumps(data, indent=2))
    return path


def start_dashboard(
    home: Path, users_file: Path | None, *, port: int, log: Path, timeout: float = 180.0,
    extra_args: Sequence[str] = (), overrides: Sequence[str] = ("generator=extractive",),
) -> subprocess.Popen:
    """Start ``ragbench dashboard`` on 127.0.0.1:``port`` and wait until it answers.

    ``overrides`` are Hydra overrides for the dashboard's pipeline (default: the extractive generator,
    for tests that are not about the LLM; pass ``generator=openai`` ones to stream a served model)."""
    env = {**os.environ, "RAGBENCH_DASHBOARD_COOKIE_SECRET": COOKIE_SECRET, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "ragbench.cli", "dashboard", "--port", str(port), *extra_args]
    if users_file is not None:
        cmd += ["--users", str(users_file)]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([*cmd, f"home={home}", *overrides], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                            cwd=root, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).close()
            return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    stop_dashboard(proc)
    raise RuntimeError(f"dashboard did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_dashboard(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group; SIGKILL it if it has not ended after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def served_dashboard(home: Path, users_file: Path | None, *, log: Path | None = None,
                     overrides: Sequence[str] = ("generator=extractive",)) -> Iterator[str]:
    """A running dashboard's base URL; the server is stopped on exit."""
    port = free_port()
    proc = start_dashboard(home, users_file, port=port, log=log or Path(home) / "dashboard-server.log",
                           overrides=overrides)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_dashboard(proc)
