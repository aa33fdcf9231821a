"""Service fixtures: one home with the demo tenants indexed (MiniLM, hybrid) and one keyed ``ragbench serve``
process on it per test session; keys are created in the same key store the server reads."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def service_home(tmp_path_factory) -> Path:
    """A home with the three demo tenants ingested (the default hybrid retriever's MiniLM index)."""
    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset

    home = tmp_path_factory.mktemp("service") / "home"
    ingest_dataset(build(compose([f"home={home}", "progress=false", "generator=extractive"])))
    return home


@pytest.fixture(scope="session")
def keys(service_home) -> dict:
    """API keys in the server's key store: one per demo tenant, an admin, and the store itself."""
    from ragbench.service.keys import KeyStore
    from ragbench.service.settings import service_dir

    store = KeyStore(service_dir(service_home) / "keys.db")
    return {
        "acme": store.create("acme-app", tenants=["acme-robotics"])[0],
        "harbor": store.create("harbor-app", tenants=["harbor-health"])[0],
        "admin": store.create("ops", role="admin")[0],
        "store": store,
    }


@pytest.fixture(scope="session")
def api(service_home, keys) -> str:
    """A real ``ragbench serve`` (API keys, extractive generator: these tests are not about the LLM), every
    query traced (the default samples 10% by request id)."""
    from tests.support.service import served_api

    with served_api(service_home, ["--trace-sample", "1"], log=service_home.parent / "api.log") as url:
        yield url
