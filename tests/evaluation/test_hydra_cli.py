"""``ragbench run`` speaks Hydra: --cfg job, --info, +key=, labelled sweep trials, run names from the
overrides, and ``compare`` by run-id prefix or run name (issue 17)."""

import pytest
import yaml

from ragbench.cli import main


def test_cfg_job_prints_the_composed_config_and_runs_nothing(tmp_path, capsys):
    code = main(["run", "--cfg", "job", f"home={tmp_path}", "retriever=bm25", "k=5", "+tag=x"])
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert code == 0
    assert cfg["k"] == 5 and cfg["tag"] == "x" and cfg["retriever"]["_target_"] == "ragbench.retrievers.BM25Retriever"
    assert cfg["run_name"] == "demo·retriever=bm25·k=5·tag=x"
    assert cfg["metrics"]["names"][:3] == ["recall@5", "mrr@5", "ndcg@5"]
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "lancedb").exists()


def test_info_prints_the_search_path_and_the_chosen_defaults(tmp_path, capsys):
    assert main(["run", "--info", f"home={tmp_path}", "retriever=dense"]) == 0
    out = capsys.readouterr().out
    assert "Config search path:" in out and "/configs (main config: config.yaml)" in out
    assert "  retriever: dense  (bm25, fusion_weighted, hybrid," in out
    assert "  dataset: demo  (" in out and "Run name: demo·retriever=dense" in out


@pytest.mark.integration
def test_sweep_trials_are_labelled_named_and_comparable_by_prefix_or_name(tmp_path, capsys):
    home = tmp_path / "home"
    common = [f"home={home}", "progress=false", "generator=extractive", "retriever=bm25", "max_queries=4"]
    assert main(["run", "-m", *common, "k=1,3"]) == 0
    out = capsys.readouterr().out
    assert "[1/2] k=1\n" in out and "[2/2] k=3\n" in out  # one label per trial, the swept keys only

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("ragbench").experiment_id])
    names = {r.info.run_name: r.info.run_id for r in runs if r.data.tags.get("mlflow.parentRunId")}
    base = "demo·generator=extractive·retriever=bm25·max_queries=4"  # home= and progress= say nothing measured
    assert set(names) == {f"{base}·k=1", f"{base}·k=3"}

    first, second = names[f"{base}·k=1"], names[f"{base}·k=3"]
    assert main(["compare", f"{base}·k=1", second[:10], f"home={home}", "--no-log"]) == 0
    out = capsys.readouterr().out
    assert f"A = {first}\nB = {second}\n" in out and "4 shared questions" in out

    assert main(["compare", "", second, f"home={home}", "--no-log"]) == 2  # "" is a prefix of every id
    err = capsys.readouterr().err
    assert "Run id prefix '' is ambiguous: it matches" in err and first in err and "Give more characters." in err
    assert main(["compare", "no-such-run", second, f"home={home}", "--no-log"]) == 2
    assert "No run with id, id prefix or name 'no-such-run'" in capsys.readouterr().err
