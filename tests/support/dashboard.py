"""Run a real ``ragbench dashboard`` in a child process, for browser tests, load tests and demos.

Example:
    >>> users = write_users_file(home / "users.json", {"alice": ("pw", "user", ["acme-robotics"])})  # doctest: +SKIP
    >>> with served_dashboard(home, users) as url:  # doctest: +SKIP
    ...     urllib.request.urlopen(url + "/login")
"""

from __future__ import annotations

import json
import os
import secrets
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

from ragbench._process import die_with_parent

#: A fresh random secret per test process (weak secrets are refused); tests that craft cookies read it.
COOKIE_SECRET = secrets.token_hex(32)


def sign_in(url: str, user: str, password: str, *, timeout: float = 60) -> tuple[int, dict[str, str], dict[str, str]]:
    """POST the login form as a same-origin browser would; returns (status, cookies set, response headers).

    Example:
        >>> status, cookies, _ = sign_in("http://127.0.0.1:5006", "alice", "pw")  # doctest: +SKIP
        >>> status, sorted(cookies)  # doctest: +SKIP
        (302, ['rb_session'])
    """
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    body = urllib.parse.urlencode({"username": user, "password": password})
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": f"{parts.scheme}://{parts.netloc}"},
    )
    resp = conn.getresponse()
    resp.read()
    cookies = {}
    for header in resp.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if value:
            cookies[name.strip()] = value.strip('"')
    conn.close()
    return resp.status, cookies, dict(resp.headers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_users_file(
    path: Path, users: Mapping[str, tuple[str, str, Sequence[str]]], *, iterations: int | None = None
) -> Path:
    """Write a users file from ``{name: (password, role, tenants)}``, hashed at the production cost
    (:data:`~ragbench.dashboard.auth.KDF_ITERATIONS`, about 0.4 s a hash on 2 cores); a lower
    ``iterations`` makes a file that ``ragbench dashboard`` refuses (for tests of that refusal)."""
    from ragbench.dashboard.auth import KDF_ITERATIONS, hash_password

    iterations = iterations or KDF_ITERATIONS
    data = {
        "users": {
            name: {"password_hash": hash_password(pw, iterations=iterations), "role": role, "tenants": list(tenants)}
            for name, (pw, role, tenants) in users.items()
        }
    }
    path.write_text(json.dumps(data, indent=2))
    return path


def start_dashboard(
    home: Path,
    users_file: Path | None,
    *,
    port: int,
    log: Path,
    timeout: float = 600.0,
    extra_args: Sequence[str] = (),
    overrides: Sequence[str] = ("generator=extractive",),
) -> subprocess.Popen:
    """Start ``ragbench dashboard`` on 127.0.0.1:``port`` and wait until it answers.

    ``overrides`` are Hydra overrides for the dashboard's pipeline (default: the extractive generator,
    for tests that are not about the LLM; pass ``generator=openai`` ones to stream a served model)."""
    env = {**os.environ, "RAGBENCH_DASHBOARD_COOKIE_SECRET": COOKIE_SECRET, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "ragbench.cli", "dashboard", "--port", str(port), *extra_args]
    if users_file is not None:
        cmd += ["--users", str(users_file)]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [*cmd, f"home={home}", *overrides],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
        start_new_session=True,
        preexec_fn=die_with_parent(),  # no orphan server when pytest itself is killed
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{'/login' if users_file else '/'}", timeout=5).close()
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
def served_dashboard(
    home: Path,
    users_file: Path | None,
    *,
    log: Path | None = None,
    overrides: Sequence[str] = ("generator=extractive",),
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """A running dashboard's base URL; the server is stopped on exit (``extra_args``: CLI options)."""
    port = free_port()
    log = log or Path(home) / "dashboard-server.log"
    proc = start_dashboard(home, users_file, port=port, log=log, overrides=overrides, extra_args=extra_args)
    url = f"http://127.0.0.1:{port}"
    RUNNING[url] = (proc, log)
    try:
        yield url
    finally:
        RUNNING.pop(url, None)
        stop_dashboard(proc)


#: Dashboards started by :func:`served_dashboard` in this process: url -> (process, log file).
RUNNING: dict[str, tuple[subprocess.Popen, Path]] = {}


def server_report(url: str, *, lines: int = 120) -> str:
    """For a test that gave up waiting on the dashboard at ``url``: ask the server for every thread's
    stack (``SIGUSR1``, see ``ragbench.dashboard.server.dump_stacks_on_sigusr1``) and return the end
    of its log, so the failure says where the server was."""
    proc, log = RUNNING.get(url, (None, None))
    if proc is None or log is None:
        return f"(no log: {url} was not started by served_dashboard)"
    head = ""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(1.0)  # faulthandler writes from a signal handler; give it a moment
    else:
        head = f"the dashboard exited with {proc.returncode}:\n"
    return head + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def ingest_files(page, paths, *, timeout_ms: int = 300_000) -> str:
    """Choose ``paths``, click Ingest, wait until the new job has finished; returns the job status line.

    An error shown instead ends the wait at once, and a wait that runs out fails with the status line
    and the server's thread stacks and log (see :func:`tests.support.dashboard.server_report`)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # browser tests only

    old = page.locator(".rb-job-status").get_attribute("data-ticket")
    page.locator("input[type=file]").set_input_files([str(p) for p in paths])
    page.get_by_role("button", name="Ingest uploaded files").click()  # enabled once the server has the files
    finished = f'.rb-job-finished:not([data-ticket="{old}"])' if old else ".rb-job-finished"
    try:
        page.wait_for_selector(f"{finished}, .rb-job-status.rb-error", timeout=timeout_ms)
    except PlaywrightTimeout:
        status = page.inner_text(".rb-job-status")
        url = page.url.split("/", 3)
        raise AssertionError(
            f"no finished job after {timeout_ms / 1000:.0f} s; status line: {status!r}\n"
            f"server:\n{server_report('/'.join(url[:3]))}"
        ) from None
    status = page.inner_text(".rb-job-status")
    assert page.locator(finished).count() == 1, f"the upload was not ingested: {status}"
    return status
