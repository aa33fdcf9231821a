"""Every notebook executed with papermill on CPU-sized parameters, then validated with nbval.

The `smoke` pipeline (configs/pipeline/smoke.yaml) runs all notebooks in order through the
real runner, into one tracking home, as `ragbench pipeline run smoke` does. The tests then
read what each notebook wrote into its output folder, and run nbval (--nbval-lax: cells
marked `# NBVAL_CHECK_OUTPUT` must reproduce papermill's output) on the executed copies.
"""

from __future__ import annotations

import json
import os

import nbformat
import pandas as pd
import pytest

from ragbench.notebooks.pipeline import NotebookPipeline
from tests.notebooks._nbval import run_nbval

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smoke")
    previous = os.environ.get("RAGBENCH_HOME")
    os.environ["RAGBENCH_HOME"] = str(tmp / "home")
    try:
        run = NotebookPipeline(echo=lambda _: None, progress=False).run("smoke", runs_dir=tmp / "runs")
    finally:
        if previous is None:
            os.environ.pop("RAGBENCH_HOME", None)
        else:
            os.environ["RAGBENCH_HOME"] = previous
    return tmp, run


def _out(smoke, stage: str):
    return smoke[1].run_dir / stage


def _nb(smoke, stage: str):
    entry = next(s for s in smoke[1].stages if s["name"] == stage)
    return nbformat.read(str(smoke[1].run_dir / entry["output"]), as_version=4)


def _text(nb) -> str:
    return "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def test_every_stage_ran_and_is_in_mlflow(smoke):
    tmp, run = smoke
    assert run.finished and len(run.stages) == 7
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / 'home' / 'mlflow.db'}")
    parent = client.get_run(run.parent_run_id)
    assert parent.info.status == "FINISHED"
    artifacts = sorted(a.path for a in client.list_artifacts(run.parent_run_id, "notebooks"))
    executed = [s["output"].removesuffix(".ipynb") for s in run.stages]  # each as .ipynb and as .html
    assert artifacts == sorted(f"notebooks/{name}.{ext}" for name in executed for ext in ("ipynb", "html"))
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run.parent_run_id}'")
    assert sorted(c.info.run_name for c in children) == sorted(s["name"] for s in run.stages)
    assert all(c.info.status == "FINISHED" and c.data.metrics["stage/seconds"] > 0 for c in children)


def test_quickstart_outputs(smoke):
    table = pd.read_csv(_out(smoke, "quickstart") / "per_question.csv")
    assert len(table) == 10 and set(table["tenant"]) == {"acme-robotics"}
    assert table["metric.recall@10"].mean() >= 0.9
    summary = json.loads((_out(smoke, "quickstart") / "summary.json").read_text())
    assert summary["questions"] == 10 and 0 < summary["f1"] < 1 and summary["run_id"]
    assert "25 days of paid vacation" in _text(_nb(smoke, "quickstart"))


def test_retrieval_lab_outputs(smoke):
    table = pd.read_csv(_out(smoke, "retrieval-lab") / "retrievers.csv")
    assert list(table["variant"]) == ["bm25", "dense", "hybrid"]
    assert (table["ndcg@10"] > 0.5).all() and (table["ndcg@10"] <= 1).all()
    assert (table["latency.total_ms.p50"] > 0).all() and table["run_id"].notna().all()
    for name in ("quality_vs_latency.png", "retrieval_metrics.png"):
        assert (_out(smoke, "retrieval-lab") / name).stat().st_size > 10_000


def test_generation_lab_outputs(smoke):
    table = pd.read_csv(_out(smoke, "generation-lab") / "generators.csv")
    assert list(table["variant"]) == ["extractive-1", "extractive-3", "llm-grounded-prompt", "llm-short-prompt"]
    assert (table["questions"] == 6).all()
    extractive = table.set_index("variant").loc["extractive-1"]
    assert extractive["f1"] > 0.1
    answers = pd.read_csv(_out(smoke, "generation-lab") / "answers.csv")
    assert len(answers) == 6
    for variant in table["variant"]:
        assert answers[f"{variant}: sources"].str.startswith("acme-").all()
    assert answers["extractive-1: answer"].notna().all()
    # The real SmolLM2 answers every question (transformers, no server); weak, but question-specific answers.
    llm = table.set_index("variant").loc[["llm-grounded-prompt", "llm-short-prompt"]]
    assert (llm["answers.failed"] == 0).all() and llm["match"].notna().all()
    for variant in ("llm-grounded-prompt", "llm-short-prompt"):
        texts = answers[f"{variant}: answer"].fillna("")
        assert (texts.str.len() > 0).all() and texts.nunique() > 1


def test_compare_runs_outputs(smoke):
    runs = pd.read_csv(_out(smoke, "compare-runs") / "runs.csv")
    assert len(runs) >= 8 and set(runs["dataset"]) == {"demo"}  # 1 quickstart + 3 retrievers + 4 generators
    rows = json.loads((_out(smoke, "compare-runs") / "comparison.json").read_text())
    by_metric = {r["metric"]: r for r in rows}
    assert {"ndcg@10", "f1"} <= set(by_metric)
    f1 = by_metric["f1"]
    assert f1["n"] == 6 and f1["low"] <= f1["delta"] <= f1["high"] and 0 <= f1["p_value"] <= 1
    assert abs(f1["delta"] - (f1["mean_b"] - f1["mean_a"])) < 1e-9
    assert (_out(smoke, "compare-runs") / "pareto.png").stat().st_size > 10_000


def test_dspy_optimize_outputs(smoke):
    scores = pd.read_csv(_out(smoke, "dspy-optimize") / "scores.csv").set_index("program")
    assert list(scores.index) == ["before", "after"]
    # 6 held-out questions, each answered (or counted as failed) by the real SmolLM2 on a vLLM server
    assert (scores["n"] + scores["failed"] == 6).all()
    assert ((scores["score"].dropna() >= 0) & (scores["score"].dropna() <= 1)).all()
    rows = pd.read_csv(_out(smoke, "dspy-optimize") / "before_after.csv")
    assert len(rows) == 6
    demos = json.loads((_out(smoke, "dspy-optimize") / "demos.json").read_text())
    assert len(demos) <= 2 and all(d["question"] for d in demos)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{smoke[0] / 'home' / 'mlflow.db'}")
    [run] = client.search_runs(
        [client.get_experiment_by_name("ragbench").experiment_id], "tags.`ragbench.kind` = 'dspy-optimize'"
    )
    metrics = run.data.metrics
    assert metrics["dspy/before/n"] + metrics["dspy/before/failed"] == 6 and "dspy/paired_n" in metrics
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == [
        "config.json",
        "config.yaml",
        "dspy_before_after.json",
    ]


def test_multitenant_outputs(smoke):
    isolation = pd.read_csv(_out(smoke, "multitenant") / "isolation.csv").set_index("asked_as")
    assert list(isolation.index) == ["acme-robotics", "harbor-health", "lastavica-logistika"]
    assert (isolation.to_numpy() == 0).all()
    inventory = pd.read_csv(_out(smoke, "multitenant") / "inventory.csv")
    assert list(inventory["chunks_in_store"]) == [35, 35, 20] and list(inventory["questions"]) == [26, 26, 20]
    per_tenant = pd.read_csv(_out(smoke, "multitenant") / "per_tenant.csv")
    assert (per_tenant["isolation.cross_tenant_hits"] == 0).all() and (per_tenant["recall@10"] > 0.8).all()
    same = pd.read_csv(_out(smoke, "multitenant") / "same_question.csv")
    assert len(same) >= 6
    assert same["acme-robotics: sources"].str.startswith("acme-").all()
    assert same["harbor-health: sources"].str.startswith("harbor-").all()
    # asked in English, the Croatian tenant's BM25 finds its own documents or none (no shared words), never others'
    hr_sources = same["lastavica-logistika: sources"].fillna("").str.split(", ")
    assert hr_sources.map(lambda ids: all(d.startswith("lastavica-") for d in ids if d)).all()


def test_methods_outputs(smoke):
    table = pd.read_csv(_out(smoke, "methods") / "methods.csv").set_index("variant")
    methods = ["standard", "closed_book", "oracle", "rewrite", "decompose", "adaptive", "refine"]
    assert list(table.index) == methods and (table["questions"] == 4).all()
    # real SmolLM2 (transformers) answers and writes every step; nothing failed
    assert (table["answers.failed"] == 0).all()
    calls = table["method.llm_calls"]
    assert calls["standard"] == calls["closed_book"] == calls["oracle"] == calls["refine"] == 1
    assert calls["rewrite"] == 2 and calls["decompose"] >= 3 and 1 <= calls["adaptive"] <= 2
    assert table.loc["closed_book", "recall@5"] == 0 and table.loc["oracle", "recall@5"] == 1
    assert (table["method.tokens"] > 0).all() and table.loc["rewrite", "method.tokens"] > table.loc["standard", "method.tokens"]
    paired = pd.read_csv(_out(smoke, "methods") / "paired.csv")
    assert sorted(paired["variant"].unique()) == sorted(m for m in methods if m != "standard")
    assert set(paired["metric"]) == {"f1", "match"} and (paired["baseline"] == "standard").all()
    assert ((paired["low"] <= paired["delta"]) & (paired["delta"] <= paired["high"])).all() and (paired["n"] == 4).all()
    f1 = paired.set_index(["variant", "metric"])["delta"]
    assert abs(f1["rewrite", "f1"] - (table.loc["rewrite", "f1"] - table.loc["standard", "f1"])) < 1e-9
    steps = pd.read_csv(_out(smoke, "methods") / "steps.csv").fillna("")
    assert len(steps) == 3 * len(methods)
    by = steps.set_index(["question_id", "variant"])
    for qid in steps["question_id"].unique():
        question = by.loc[(qid, "standard"), "question"]
        assert by.loc[(qid, "standard"), "queries"] == question  # standard searches with the question itself
        assert by.loc[(qid, "closed_book"), "queries"] == ""  # and closed-book searches nothing
        assert by.loc[(qid, "rewrite"), "steps"].startswith("rewrite: ")
        assert by.loc[(qid, "decompose"), "steps"].startswith("decompose: ")
    assert (_out(smoke, "methods") / "quality_vs_cost.png").stat().st_size > 10_000


def test_nbval_lax_validates_the_executed_notebooks(smoke):
    tmp, run = smoke
    proc = run_nbval(run.notebooks(), cwd=tmp, env={"RAGBENCH_HOME": str(tmp / "home")})
    tail = proc.stdout[-3000:]
    assert proc.returncode == 0, tail
    cells = sum(1 for p in run.notebooks() for c in nbformat.read(str(p), as_version=4).cells if c.cell_type == "code")
    assert f"{cells} passed" in tail
