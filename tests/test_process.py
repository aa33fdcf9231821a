"""Servers started for a process die with it: an interrupted test run (or a killed supervisor) leaves no orphan
vLLM server or dashboard behind, even though they run in their own session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ragbench._process import die_with_parent, pid_alive

PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from ragbench._process import die_with_parent
    use = sys.argv[1] == "1"
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        start_new_session=True,  # as the vLLM server, ragbench serve and the dashboard are started
        preexec_fn=die_with_parent() if use else None,
    )
    print(child.pid, flush=True)
    time.sleep(600)
    """
)


def _orphan_after_killing_parent(use: bool) -> tuple[int, bool]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, "1" if use else "0"], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    child = int(parent.stdout.readline())
    assert pid_alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + (30 if use else 2)  # a bound on waiting, not a timing assertion
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.1)
    alive = _running(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    return child, alive


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan is reaped by init, but check the state to be sure)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux-only")
def test_a_child_started_with_die_with_parent_ends_when_its_parent_is_killed():
    _, alive = _orphan_after_killing_parent(use=True)
    assert not alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux-only")
def test_without_it_a_new_session_child_outlives_a_killed_parent():
    """The control: what the test servers did before (a session of their own survives SIGKILL of the parent)."""
    _, alive = _orphan_after_killing_parent(use=False)
    assert alive


def test_die_with_parent_is_a_preexec_function_on_linux():
    fn = die_with_parent()
    assert callable(fn) if sys.platform.startswith("linux") else fn is None
