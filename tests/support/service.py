"""Run a real ``ragbench serve`` in a child process, and read its server-sent events, for tests and benchmarks.

Example:
    >>> with served_api(home, ["--port", "0"]) as url:  # doctest: +SKIP
    ...     httpx.get(url + "/healthz")
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ragbench._process import die_with_parent
from tests.support.dashboard import free_port


def start_api(
    home: Path,
    *,
    port: int,
    log: Path,
    args: Sequence[str] = (),
    overrides: Sequence[str] = ("generator=extractive",),
    timeout: float = 600.0,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start ``ragbench serve`` on 127.0.0.1:``port`` for ``home`` and wait until ``/healthz`` answers.

    ``overrides`` are the served pipeline's Hydra overrides (default: the extractive generator, for
    tests that are not about the LLM); ``args`` are ``ragbench serve`` options (e.g. ``--open``)."""
    cmd = [sys.executable, "-m", "ragbench.cli", "serve", "--port", str(port), *args, f"home={home}", *overrides]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        cmd,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=root,
        start_new_session=True,
        preexec_fn=die_with_parent(),  # no orphan server when pytest itself is killed
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ragbench serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()
            return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    stop_api(proc)
    raise RuntimeError(f"ragbench serve did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_api(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (uvicorn and its workers); SIGKILL after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def served_api(
    home: Path,
    args: Sequence[str] = (),
    *,
    overrides: Sequence[str] = ("generator=extractive",),
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """A running query API's base URL for ``home``; stopped on exit."""
    port = free_port()
    proc = start_api(
        home, port=port, log=log or Path(home) / f"api-{port}.log", args=args, overrides=overrides, env=env
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_api(proc)


def call(url: str, method: str, path: str, *, key: str | None = None, timeout: float = 120, **kwargs):
    """One HTTP request (``httpx``) on a fresh connection, with ``key`` as a bearer token."""
    import httpx

    headers = {**({"Authorization": f"Bearer {key}"} if key else {}), **kwargs.pop("headers", {})}
    with httpx.Client(base_url=url, timeout=timeout) as client:
        return client.request(method, path, headers=headers, **kwargs)


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, dict]]:
    """``(event, data)`` pairs from server-sent-event lines (``data`` parsed as JSON; pings skipped).

    Example:
        >>> list(sse_events(["event: token", 'data: {"text": "Hi"}', "", ": ping", ""]))
        [('token', {'text': 'Hi'})]
    """
    name, data = "message", []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    if data:
        yield name, json.loads("\n".join(data))
