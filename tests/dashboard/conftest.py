"""Dashboard fixtures: one prepared home (demo dataset ingested, two MLflow runs), one served
app per test session (the one headless Chromium is the `browser` fixture of tests/conftest.py), shared by every dashboard test module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
USERS = {
    "alice": ("alice-pw", "user", ["acme-robotics"]),
    "hank": ("hank-pw", "user", ["harbor-health"]),
    "carol": ("carol-pw", "user", ["acme-robotics"]),  # takes wrong passwords in test_security.py
    "root": ("root-pw", "admin", []),
}


@pytest.fixture(scope="session")
def dashboard_home(tmp_path_factory) -> Path:
    """A home with the demo dataset indexed (MiniLM) and two MLflow runs: demo-hybrid and demo-bm25."""
    from ragbench.config import build, compose
    from ragbench.evaluation.run import run_experiment

    home = tmp_path_factory.mktemp("dashboard") / "home"
    for retriever in ("hybrid", "bm25"):
        parts = build(
            compose(
                [
                    f"home={home}",
                    "progress=false",
                    "generator=extractive",
                    "max_queries=12",
                    f"retriever={retriever}",
                    f"run_name=demo-{retriever}",
                ]
            )
        )
        run_experiment(parts)
    return home


@pytest.fixture(scope="session")
def users_file(dashboard_home) -> Path:
    from tests.support.dashboard import write_users_file

    return write_users_file(dashboard_home.parent / "users.json", USERS)


@pytest.fixture(scope="session")
def dashboard_url(dashboard_home, users_file):
    """A real ``ragbench dashboard`` process (users file, cookie secret) on a free local port."""
    from tests.support.dashboard import served_dashboard

    with served_dashboard(dashboard_home, users_file, log=dashboard_home.parent / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go for review: ``$RAGBENCH_TEST_ARTIFACTS`` or ``test-artifacts/screenshots``."""
    path = Path(os.environ.get("RAGBENCH_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
