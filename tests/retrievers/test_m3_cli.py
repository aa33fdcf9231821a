"""`ragbench run embedder=bge_m3 retriever=m3_all embedder.model=<path> dataset=hotpotqa` end to end (tiny model)."""

import re

import pytest

from ragbench.cli import main
from ragbench.config import build
from tests.conftest import require_shared


@pytest.mark.slow
def test_cli_run_on_hotpotqa_logs_index_build_time_and_ann_recall(tiny_bge_m3, tmp_path, capsys, compose_cfg):
    require_shared("hotpotqa_sample100")
    home = tmp_path / "home"
    args = [
        "run",
        "generator=extractive",
        "embedder=bge_m3",
        "retriever=m3_all",
        f"embedder.model={tiny_bge_m3}",
        "dataset=hotpotqa",
        f"home={home}",
        "max_queries=4",
        "progress=false",
        "store.vector_index=ivf_hnsw_sq",
        "embedder.torch_threads=1",
        "embedder.batch_size=64",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"indexed hotpotqa: \d+ documents, 994 chunks \(994 indexed, 994 embedded;", out), out
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{home}/mlflow.db")
    run_id = out.strip().rsplit("MLflow run id: ", 1)[1].split()[0]
    metrics = client.get_run(run_id).data.metrics
    assert metrics["index/hotpotqa/vector_index_build_s"] > 0
    assert metrics["index/hotpotqa/vector_indexed"] == 1.0
    assert 0.5 <= metrics["index/hotpotqa/ann_recall_at_10"] <= 1.0
    assert metrics["index/hotpotqa/ann_recall_queries"] == 20
    assert metrics["counts/questions"] == 4 and "retrieval/ndcg_at_10" in metrics

    # A second experiment over the same corpus and model (a new store, the same embedding cache)
    # stores every chunk again but encodes none of them.
    parts = build(
        compose_cfg(
            *args[1:6],
            f"home={tmp_path / 'home2'}",
            "embedder.torch_threads=1",
            f"embedder.cache_dir={home / 'lancedb' / '_embedding_cache'}",
        )
    )
    from ragbench.evaluation.run import ingest_dataset

    stats = ingest_dataset(parts)
    assert stats[0].embedded == 994 and parts.embedder.forward_texts == 0
    assert parts.embedder.cache.hits == 994
