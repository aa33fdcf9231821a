"""`ragbench compare` on two real SciFact runs (BM25 vs dense, shared with tests/integration/test_scifact.py):
deltas, CIs and p-values printed per metric, equal to a recomputation, and logged to MLflow."""

import re

import numpy as np
import pytest

from ragbench.cli import main
from ragbench.evaluation.stats import paired_comparison

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _row(out: str, metric: str) -> list[str]:
    line = next(ln for ln in out.splitlines() if ln.startswith(metric + " "))
    return re.split(r"\s{2,}", line.strip())


def test_compare_scifact_bm25_vs_dense(scifact_runs, capsys):
    a, b, home = scifact_runs["bm25"], scifact_runs["dense"], scifact_runs["home"]
    assert main(["compare", a.run_id, b.run_id, f"home={home}"]) == 0
    out = capsys.readouterr().out
    assert "210 shared questions (0 only in A, 0 only in B)" in out
    for metric in ("ndcg@10", "recall@10", "mrr@10"):
        name, n, mean_a, mean_b, delta, ci, p = _row(out, metric)
        va = np.array([r.metrics[metric] for r in a.report.results])
        vb = np.array([r.metrics[metric] for r in b.report.results])
        ref = paired_comparison(metric, va, vb)
        assert int(n) == 210
        assert float(mean_a) == pytest.approx(a.report.overall[metric], abs=5e-5)
        assert float(mean_b) == pytest.approx(b.report.overall[metric], abs=5e-5)
        assert float(delta) == pytest.approx(vb.mean() - va.mean(), abs=5e-5)
        low, high = (float(x) for x in ci.strip("[]").split(","))
        # compare reads MLflow's JSON table (values rounded to 10 digits): the resampled interval can move
        # by about one bootstrap step (~1/n of a question's value), so allow 2e-3.
        assert low == pytest.approx(ref.low, abs=2e-3) and high == pytest.approx(ref.high, abs=2e-3)
        assert low <= float(delta) <= high and 0 < float(p) <= 1 and float(p) == pytest.approx(ref.p_value, abs=0.01)
    assert not any(ln.startswith("em ") for ln in out.splitlines())  # SciFact has no gold answers: no EM to pair

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    exp = client.get_experiment_by_name("ragbench")
    [run] = client.search_runs([exp.experiment_id], "tags.`ragbench.kind` = 'comparison'")
    assert run.data.tags["ragbench.compare.run_a"] == a.run_id and run.data.tags["ragbench.compare.run_b"] == b.run_id
    assert run.data.metrics["retrieval/ndcg_at_10/delta"] == pytest.approx(
        b.report.overall["ndcg@10"] - a.report.overall["ndcg@10"]
    )
    assert 0 < run.data.metrics["retrieval/ndcg_at_10/p_value"] <= 1
    assert run.data.metrics["counts/shared_questions"] == 210
    [figure] = client.list_artifacts(run.info.run_id, "figures")  # each metric's delta with its paired CI
    assert figure.path == "figures/delta_forest.png" and figure.file_size > 1000


def test_compare_run_with_itself_and_bad_ids(scifact_runs, capsys):
    a, home = scifact_runs["bm25"], scifact_runs["home"]
    assert main(["compare", a.run_id, a.run_id, f"home={home}", "--no-log", "--metric", "ndcg@10"]) == 0
    _, n, _, _, delta, ci, p = _row(capsys.readouterr().out, "ndcg@10")
    assert (n, float(delta), float(p)) == ("210", 0.0, 1.0)
    assert main(["compare", a.run_id, "0" * 32, f"home={home}", "--no-log"]) == 2
    assert "No run with id, id prefix or name '000" in capsys.readouterr().err  # resolved before loading
    assert main(["compare", a.run_id, a.run_id, f"home={home}", "--no-log", "--metric", "ndcg@100"]) == 2
    assert "not in both runs" in capsys.readouterr().err
