"""Library helpers the notebooks call: argument checks and plain transformations (fast, no models)."""

import json

import pandas as pd
import pytest

from ragbench.errors import ConfigError
from ragbench.notebooks import lab, runs


def test_with_llm_model_only_fills_llm_variants(monkeypatch):
    monkeypatch.setenv("RAGBENCH_LLM_MODEL", "/models/qwen")
    out = lab.with_llm_model({"ex": ["generator=extractive"], "llm": ["generator=transformers"],
                              "own": ["generator=vllm", "generator.model=/m2"]})
    assert out == {"ex": ["generator=extractive"], "llm": ["generator=transformers", "generator.model=/models/qwen"],
                   "own": ["generator=vllm", "generator.model=/m2"]}


def test_compare_rejects_bad_variants():
    with pytest.raises(ConfigError, match="non-empty mapping"):
        lab.compare({})
    with pytest.raises(ConfigError, match="list of key=value strings.*\\['retriever=bm25'\\]"):
        lab.compare({"bm25": "retriever=bm25"})


def test_save_outputs_writes_each_kind(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([1, 2])
    paths = lab.save_outputs(tmp_path / "out", table=pd.DataFrame({"a": [1, 2]}), fig=fig, summary={"x": 1.5})
    assert [p.name for p in paths] == ["table.csv", "fig.png", "summary.json"]
    assert pd.read_csv(paths[0])["a"].tolist() == [1, 2] and json.loads(paths[2].read_text()) == {"x": 1.5}
    with pytest.raises(ConfigError, match="cannot save bad=int"):
        lab.save_outputs(tmp_path, bad=3)


def test_pick_pair():
    table = pd.DataFrame({"run_id": ["new", "mid", "old"]})
    assert runs.pick_pair(table) == ("mid", "new")
    assert runs.pick_pair(table, run_a="old") == ("old", "new")
    assert runs.pick_pair(table, run_b="old") == ("new", "old")
    assert runs.pick_pair(table, "x", "y") == ("x", "y")
    with pytest.raises(ConfigError, match="Need two runs to compare, found 1"):
        runs.pick_pair(table.head(1))


def test_runs_table_needs_mlflow():
    from ragbench.tracking import NullTracker

    with pytest.raises(ConfigError, match="needs an MLflow tracker"):
        runs.runs_table(NullTracker())


def test_isolation_matrix_counts_foreign_hits():
    """A retriever that leaks tenant a's document into every answer is caught (the check can fail)."""
    from types import SimpleNamespace

    from ragbench.data.dataset import Dataset
    from ragbench.notebooks.tenants import isolation_matrix
    from ragbench.types import Document, Hit, Sample

    docs = [Document("d1", "a", "x"), Document("d1", "b", "y")]  # same id in both tenants
    samples = [Sample("q1", "x?", "a"), Sample("q2", "y?", "b"), Sample("q3", "z?", "b")]

    class Leaky:
        def retrieve(self, queries, k):
            return [[Hit("c", "d1", q.tenant, "t", 1.0), Hit("c2", "d9", "a", "leak", 0.5)] for q in queries]

    parts = SimpleNamespace(cfg=SimpleNamespace(k=2), dataset=Dataset("t", docs, samples), retriever=Leaky())
    matrix = isolation_matrix(parts)
    # asked as a: the d9 hit has tenant a but a does not own d9; asked as b: every d9 hit is a's.
    assert matrix.loc["a"].tolist() == [1, 2] and matrix.loc["b"].tolist() == [1, 2]
