"""Sweeps: comma lists expand to their product, each combination is a child MLflow run under one
parent, a summary table is printed; the search picks the best configuration within a latency budget."""

import pytest

from ragbench.cli import main
from ragbench.errors import ConfigError
from ragbench.evaluation.sweep import LATENCY_KEY, Trial, expand_sweep, pick_best, run_sweep


def test_expand_sweep_product_and_brackets():
    combos = expand_sweep(["retriever=bm25,dense,hybrid", "k=5,10", "max_queries=3", "metrics.names=[f1,em]"])
    assert len(combos) == 6
    assert combos[0] == ["max_queries=3", "metrics.names=[f1,em]", "retriever=bm25", "k=5"]
    assert combos[-1][-2:] == ["retriever=hybrid", "k=10"]
    assert expand_sweep(["metrics.names=[f1,em],[ndcg@10]"]) == [["metrics.names=[f1,em]"], ["metrics.names=[ndcg@10]"]]
    with pytest.raises(ConfigError, match="Invalid sweep overrides.*Hydra's grammar"):
        expand_sweep(["k=5,"])


def test_hydra_grammar_ranges_choices_and_globs():
    assert expand_sweep(["k=range(5,16,5)"]) == [["k=5"], ["k=10"], ["k=15"]]
    assert expand_sweep(["generator=choice(extractive,vllm)", "+tag=x"]) == [
        ["+tag=x", "generator=extractive"],
        ["+tag=x", "generator=vllm"],
    ]
    m3 = [c[0] for c in expand_sweep(["retriever=glob(m3_*,exclude=m3_*rerank)"])]
    assert m3 == ["retriever=m3_all", "retriever=m3_colbert", "retriever=m3_dense", "retriever=m3_sparse"]
    with pytest.raises(ConfigError, match="matches no option of configs/retriever"):
        expand_sweep(["retriever=glob(nothing*)"])
    with pytest.raises(ConfigError, match="is an interval"):
        expand_sweep(["k=interval(1,5)"])


def _scored(table):
    """A run function over a known score table, counting calls (the search logic alone)."""
    calls = []

    def run_one(overrides, parent):
        calls.append(tuple(overrides))
        key = tuple(o.split("=")[1] for o in overrides)
        score, latency = table[key]
        return Trial(list(overrides), run_id="-".join(key), metrics={"ndcg@10": score, LATENCY_KEY: latency})

    return run_one, calls


TABLE = {  # (retriever, k) -> (ndcg, p95 ms)
    ("bm25", "5"): (0.60, 5),
    ("bm25", "10"): (0.62, 6),
    ("bm25", "20"): (0.63, 7),
    ("dense", "5"): (0.66, 40),
    ("dense", "10"): (0.70, 45),
    ("dense", "20"): (0.71, 90),
}


def test_grid_and_greedy_search_respect_the_latency_budget():
    run_one, calls = _scored(TABLE)
    grid = run_sweep(["retriever=bm25,dense", "k=5,10,20"], run_one, metric="ndcg@10", latency_budget_ms=50)
    assert len(calls) == 6 and grid.best.run_id == "dense-10"
    run_one, calls = _scored(TABLE)
    greedy = run_sweep(
        ["retriever=bm25,dense", "k=5,10,20"], run_one, metric="ndcg@10", latency_budget_ms=50, strategy="greedy"
    )
    assert len(calls) == 4  # retriever at k=5 (2 runs), then k for dense (2 more): not all 6
    assert greedy.best.run_id == "dense-10"
    assert pick_best(grid.trials, "ndcg@10", latency_budget_ms=1) is None
    assert pick_best(grid.trials, "ndcg@10").run_id == "dense-20"
    with pytest.raises(ConfigError, match="needs a metric"):
        run_sweep(["k=1,2"], run_one, strategy="greedy")
    run_one, calls = _scored(TABLE)
    tpe = run_sweep(
        ["retriever=bm25,dense", "k=5,10,20"],
        run_one,
        metric="ndcg@10",
        latency_budget_ms=50,
        strategy="tpe",
        trials=25,
    )
    assert len(calls) == len(set(calls)) <= 6  # each combination runs once, however often TPE proposes it
    assert tpe.best.run_id == "dense-10"  # the best within the budget (dense-20 is better but too slow)


@pytest.mark.integration
def test_cli_sweep_makes_child_runs_under_one_parent(tmp_path, capsys):
    home = tmp_path / "home"
    code = main(
        [
            "run",
            "-m",
            f"home={home}",
            "progress=false",
            "generator=extractive",
            "retriever=bm25",
            "k=1,3",
            "metrics.names=[recall@3,mrr@3]",
            "--search",
            "recall@3",
            "--latency-budget-ms",
            "10000",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "best recall@3 within p95 <= 10000 ms: " in out and "k=3" in out.splitlines()[-2]
    rows = [ln for ln in out.splitlines() if "retriever=bm25" in ln and " k=" in ln and not ln.startswith("best")]
    assert len(rows) == 2 and rows[1].startswith("*")  # k=3 finds more relevant docs than k=1

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("ragbench").experiment_id])
    [parent] = [r for r in runs if r.data.tags.get("ragbench.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2 and len(runs) == 3
    by_k = {r.data.params["k"]: r for r in children}
    assert by_k["3"].data.metrics["retrieval/recall_at_3"] > by_k["1"].data.metrics["retrieval/recall_at_3"]
    assert parent.data.tags["ragbench.best_run_id"] == by_k["3"].info.run_id
    assert parent.data.metrics["sweep/trials"] == 2 and parent.data.metrics["sweep/failed_trials"] == 0
    assert "trials" not in parent.data.metrics
    [figure] = client.list_artifacts(parent.info.run_id, "figures")  # recall@3 vs p95 latency, CIs, Pareto front
    assert figure.path == "figures/quality_vs_latency.png" and figure.file_size > 1000
