"""Shared fixtures: real parts (LanceDB on disk, packaged MiniLM, MLflow sqlite) under tmp_path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ragbench.models import default_models_dir
from ragbench.paths import shared_data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
# Every test shares one folder of prepared LLMs (`make setup` fills it; otherwise the first use does).
os.environ.setdefault("RAGBENCH_MODELS_DIR", str(default_models_dir()))

SHARED = shared_data_dir()
# Tests not about generation answer with the extractive baseline (no LLM: fast, deterministic);
# tests about LLMs name their generator, and those about answer quality use the real model.
FAST_GENERATOR = "generator=extractive"


def with_fast_generator(overrides) -> list[str]:
    """``overrides`` plus ``generator=extractive`` unless they choose a generator themselves."""
    overrides = list(overrides)
    if not any(o.lstrip("+~").startswith("generator=") for o in overrides):
        overrides.insert(0, FAST_GENERATOR)
    return overrides


def require_shared(name: str) -> Path:
    """Path of a shared dataset; fails (not skips) when it is missing, since CI has it."""
    path = SHARED / name
    assert path.exists(), f"shared dataset {path} is missing: set RAGBENCH_SHARED_DATA to the shared/data folder"
    return path


@pytest.fixture(scope="session")
def minilm():
    """The packaged all-MiniLM-L6-v2, loaded once per session."""
    from ragbench.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture
def compose_cfg(tmp_path):
    """Compose the real config with overrides, its outputs under ``tmp_path``."""
    from ragbench.config import compose

    def _compose(*overrides: str):
        return compose(with_fast_generator([f"home={tmp_path / 'home'}", "progress=false", *overrides]))

    return _compose


@pytest.fixture(scope="session")
def tiny_bge_m3(tmp_path_factory) -> str:
    """Folder of a tiny random BGE-M3 (real FlagEmbedding code path, no download), built once per session."""
    from ragbench.testing.tiny_bge_m3 import build

    return build(tmp_path_factory.mktemp("tiny-bge-m3"), hidden=64, heads=4, initializer_range=0.5)


@pytest.fixture(scope="session")
def tiny_reranker(tmp_path_factory) -> str:
    """Folder of a tiny random cross-encoder that FlagEmbedding.FlagReranker loads, built once per session."""
    from ragbench.testing.tiny_reranker import build

    return build(tmp_path_factory.mktemp("tiny-reranker"))


def _scifact_run(home: Path, retriever: str):
    from ragbench.config import build, compose
    from ragbench.evaluation.run import run_experiment

    overrides = [FAST_GENERATOR, f"home={home}", "progress=false", "dataset=beir_scifact", f"retriever={retriever}"]
    return run_experiment(build(compose(overrides)))


@pytest.fixture(scope="session")
def scifact_home(tmp_path_factory) -> Path:
    """The home (store and MLflow) of the session's SciFact runs."""
    require_shared("beir_scifact")
    return tmp_path_factory.mktemp("scifact")


@pytest.fixture(scope="session")
def scifact_bm25(scifact_home):
    """The local BM25 SciFact run alone (embeds nothing), for tests that need no dense run."""
    return _scifact_run(scifact_home, "bm25")


@pytest.fixture(scope="session")
def scifact_runs(scifact_home, scifact_bm25):
    """Real SciFact runs (BM25 and dense, MLflow in one home), made once per session and shared by the
    SciFact integration tests and the `ragbench compare` tests, so CI embeds SciFact only once."""
    return {"bm25": scifact_bm25, "dense": _scifact_run(scifact_home, "dense"), "home": scifact_home}


@pytest.fixture(scope="session")
def tiny_qwen2() -> Path:
    """Folder of the tiny random Qwen2 chat model (real vLLM/transformers code paths), built once into the cache."""
    from ragbench.testing.tiny_qwen2 import tiny_qwen2_path

    return tiny_qwen2_path()


# The session's vLLM servers; a parallel run stops them once the unit of their tests is done (below).
_SESSION_SERVERS: list = []


@pytest.fixture(scope="session")
def vllm_server(tiny_qwen2):
    """One real vLLM OpenAI-compatible server on the tiny Qwen2 (served as ``tiny-qwen2``) for the session.

    It reports cached prompt tokens (prefix-cache isolation tests) and is supervised: a test that
    kills it gets it back on the same ``base_url``. Stopped (SIGTERM, then SIGKILL) at session end.
    """
    from ragbench.serving import VLLMServer

    server = VLLMServer(
        tiny_qwen2,
        served_model_name="tiny-qwen2",
        max_model_len=1024,
        max_restarts=3,
        backoff_s=0.5,
        extra_args=["--enable-prompt-tokens-details"],
        die_with_parent=True,  # not left running when the test run itself is killed
    )
    with server:
        _SESSION_SERVERS.append(server)
        yield server


@pytest.fixture(scope="session")
def real_llm() -> Path:
    """The real instruct model, SmolLM2-135M-Instruct (prepared by `make setup`, else on first use)."""
    from ragbench.models import ensure_model

    return ensure_model(default_models_dir() / "smollm2-135m-instruct")


@pytest.fixture(scope="session")
def real_llm_server(real_llm):
    """One real vLLM OpenAI-compatible server on SmolLM2-135M-Instruct (served as ``smollm2-135m-instruct``)."""
    from ragbench.serving import VLLMServer

    server = VLLMServer(
        real_llm,
        served_model_name="smollm2-135m-instruct",
        max_model_len=2048,
        max_restarts=2,
        backoff_s=0.5,
        die_with_parent=True,
    )
    with server:
        _SESSION_SERVERS.append(server)
        yield server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (never `playwright install`), one per test session.

    Every browser test uses this one: Playwright's sync API refuses a second ``sync_playwright()`` while
    one is open in the thread ("using Playwright Sync API inside the asyncio loop")."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium); see the README")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# Parallel runs (`make test`: pytest-xdist): one worker builds each heavy session fixture
# (tests/support/xdist_groups.py says how and why).
def pytest_configure(config):
    from tests.support import xdist_groups

    xdist_groups.configure(config)


def pytest_collection_modifyitems(config, items):
    from tests.support import xdist_groups

    xdist_groups.record(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from tests.support import xdist_groups

    return xdist_groups.make_scheduler(config, log)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """Free what a finished part of the run no longer needs: in-process vLLM engines after each module
    (they are shared per process and never freed otherwise), and in a parallel run the session's vLLM
    servers once their unit is done (no later test in this worker uses them). Two workers each holding
    an engine and a server beside the SciFact index filled the 24 GB CI machine."""
    if nextitem is None or nextitem.module is not item.module:
        vllm = sys.modules.get("ragbench.generators.vllm")
        if vllm is not None and vllm._ENGINES:
            vllm.release_engines()
    from tests.support import xdist_groups

    if xdist_groups.leaving_vllm_unit(item, nextitem):
        while _SESSION_SERVERS:
            _SESSION_SERVERS.pop().stop()
