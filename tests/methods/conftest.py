"""Method fixtures: the demo dataset indexed in LanceDB on disk (BM25: no embedder needed), answered by the
extractive generator unless a test brings an LLM."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_bm25(tmp_path_factory):
    """Components of a BM25 demo run (extractive generator) with every tenant indexed."""
    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset

    home = tmp_path_factory.mktemp("methods") / "home"
    parts = build(
        compose([f"home={home}", "progress=false", "generator=extractive", "retriever=bm25", "tracking=none"])
    )
    ingest_dataset(parts)
    return parts


@pytest.fixture(scope="session")
def demo_questions(demo_bm25):
    """The demo's samples by id."""
    return {s.id: s for s in demo_bm25.dataset.samples}
