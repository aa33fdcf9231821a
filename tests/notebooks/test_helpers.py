"""The front door and the views notebooks call: argument checks and plain transformations (fast, no models)."""

import json

import pandas as pd
import pytest

from ragbench.errors import ConfigError
import ragbench
from ragbench.evaluation import views


def test_one_import_gives_the_front_door():
    import subprocess
    import sys

    code = ("import sys, ragbench; heavy = {'torch', 'lancedb', 'mlflow', 'hydra', 'pandas', 'vllm'}; "
            "print(sorted(heavy & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    for name in ("compose", "build", "run", "run_variants", "compare", "evaluate", "ingest", "RAGPipeline",
                 "QueryRequest", "Experiment", "views", "plotting", "programs"):
        assert getattr(ragbench, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ragbench.nope  # noqa: B018


def test_compare_rejects_bad_variants():
    with pytest.raises(ConfigError, match="non-empty mapping"):
        ragbench.run_variants({})
    with pytest.raises(ConfigError, match="list of key=value strings.*\\['retriever=bm25'\\]"):
        ragbench.run_variants({"bm25": "retriever=bm25"})


def test_save_outputs_writes_each_kind(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([1, 2])
    paths = views.save_outputs(tmp_path / "out", table=pd.DataFrame({"a": [1, 2]}), fig=fig, summary={"x": 1.5})
    assert [p.name for p in paths] == ["table.csv", "fig.png", "summary.json"]
    assert pd.read_csv(paths[0])["a"].tolist() == [1, 2] and json.loads(paths[2].read_text()) == {"x": 1.5}
    with pytest.raises(ConfigError, match="cannot save bad=int"):
        views.save_outputs(tmp_path, bad=3)


def test_pick_pair():
    table = pd.DataFrame({"run_id": ["new", "mid", "old"]})
    assert views.pick_pair(table) == ("mid", "new")
    assert views.pick_pair(table, run_a="old") == ("old", "new")
    assert views.pick_pair(table, run_b="old") == ("new", "old")
    assert views.pick_pair(table, "x", "y") == ("x", "y")
    with pytest.raises(ConfigError, match="Need two runs to compare, found 1"):
        views.pick_pair(table.head(1))


def test_runs_table_needs_mlflow():
    from ragbench.tracking import NullTracker

    with pytest.raises(ConfigError, match="needs an MLflow tracker"):
        views.runs_table(NullTracker())


def test_isolation_matrix_counts_foreign_hits():
    """A retriever that leaks tenant a's document into every answer is caught (the check can fail)."""
    from types import SimpleNamespace

    from ragbench.data.dataset import Dataset
    from ragbench.types import Document, Hit, Sample

    docs = [Document("d1", "a", "x"), Document("d1", "b", "y")]  # same id in both tenants
    samples = [Sample("q1", "x?", "a"), Sample("q2", "y?", "b"), Sample("q3", "z?", "b")]

    class Leaky:
        def retrieve(self, queries, k):
            return [[Hit("c", "d1", q.tenant, "t", 1.0), Hit("c2", "d9", "a", "leak", 0.5)] for q in queries]

    parts = SimpleNamespace(settings=SimpleNamespace(k=2), dataset=Dataset("t", docs, samples), retriever=Leaky())
    matrix = views.isolation_matrix(parts)
    # asked as a: the d9 hit has tenant a but a does not own d9; asked as b: every d9 hit is a's.
    assert matrix.loc["a"].tolist() == [1, 2] and matrix.loc["b"].tolist() == [1, 2]
