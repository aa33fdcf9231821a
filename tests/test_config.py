"""Every config file composes and instantiates; bad overrides get clear errors."""

import pytest

from ragbench.config import GROUPS, build, config_dir, group_options, instantiate
from ragbench.embedders import default_model_path
from ragbench.errors import ConfigError

# Mandatory values (???) that a config file leaves to the user, with a valid local value.
REQUIRED = {("embedder", "sentence_transformers"): [f"embedder.model={default_model_path()}"]}
from ragbench.testing.tiny_qwen2 import tiny_qwen2_path  # noqa: E402 - built once, cached

# The LLM generators use the configured llm (the real SmolLM2, prepared by `make setup`); llm=path names a folder.
REQUIRED[("llm", "path")] = [f"llm.path={tiny_qwen2_path()}"]
from ragbench.testing.tiny_bge_m3 import tiny_bge_m3_path  # noqa: E402 - built once, cached
from ragbench.testing.tiny_reranker import tiny_reranker_path  # noqa: E402

REQUIRED[("embedder", "bge_m3")] = [f"embedder.model={tiny_bge_m3_path()}"]
REQUIRED[("retriever", "m3_all_rerank")] = [f"retriever.reranker.model={tiny_reranker_path()}"]


def _hf_folder() -> str:
    """A tiny Hugging Face `datasets` folder (save_to_disk) for dataset=hf's mandatory path."""
    import tempfile

    from datasets import Dataset

    folder = tempfile.mkdtemp(prefix="ragbench-hf-") + "/qa"
    Dataset.from_dict({"id": ["q1"], "question": ["Who?"], "answers": [["Ana"]]}).save_to_disk(folder)
    return folder


REQUIRED[("dataset", "hf")] = [f"dataset.path={_hf_folder()}", "dataset.tenant=acme", "dataset.split=null"]
# Retrievers built on BGE-M3's sparse/ColBERT outputs get a BGE-M3 embedder instead of MiniLM.
NEEDS_M3 = {"m3_dense", "m3_sparse", "m3_colbert", "m3_all", "m3_all_rerank", "m3_dense_colbert_rerank"}

ALL_OPTIONS = [(g, o) for g in GROUPS for o in group_options(g)]


def test_every_group_has_options():
    assert {g for g, _ in ALL_OPTIONS} == set(GROUPS)
    assert (config_dir() / "config.yaml").is_file()


@pytest.mark.parametrize("group,option", ALL_OPTIONS, ids=[f"{g}/{o}" for g, o in ALL_OPTIONS])
def test_every_config_file_instantiates(group, option, compose_cfg, minilm, tmp_path):
    cfg = compose_cfg(f"{group}={option}", *REQUIRED.get((group, option), []))
    from ragbench.stores import LanceDBStore

    if group == "experiment":  # a named variant: it sets other groups and names itself
        assert cfg.variant == option
        cfg = compose_cfg(f"{group}={option}")
        shared = {
            "embedder": minilm,
            "store": LanceDBStore(tmp_path / "s", space=minilm.space),
            "dataset": instantiate(cfg.dataset),
        }
        assert instantiate(cfg.retriever, shared) is not None and instantiate(cfg.prompt) is not None
        return
    if group == "llm":  # a model description, not a component: a catalogue name or a folder, and its settings
        from ragbench.models import CATALOG

        node = cfg.llm
        assert node.name in CATALOG or (node.name is None and node.path), f"llm/{option}: unknown model {node.name!r}"
        assert node.path and node.served_name and node.max_model_len > 0 and isinstance(node.chat, bool)
        return

    if group == "method":  # built on the run's parts: an LLM generator (engine loads lazily) and the run's retriever
        cfg = compose_cfg(f"method={option}", "generator=vllm", "llm=tiny_random", "retriever=bm25")
        parts = build(cfg)
        assert parts.method.name == option.removesuffix("_concat").removesuffix("_summary")
        assert parts.pipeline.method is parts.method
        return

    embedder = minilm
    if group == "retriever" and option in NEEDS_M3:
        from ragbench.embedders.bge_m3 import BGEM3Embedder

        embedder = BGEM3Embedder(str(tiny_bge_m3_path()))
    shared = {
        "embedder": embedder,
        "store": LanceDBStore(tmp_path / "s", space=embedder.space),
        "dataset": instantiate(cfg.dataset),
    }
    obj = instantiate(cfg[group], shared)
    assert obj is not None
    assert not isinstance(obj, dict), f"{group}/{option} has no _target_"


def test_default_config_builds_the_whole_graph(compose_cfg):
    parts = build(compose_cfg())
    from ragbench.protocols import Generator, Retriever

    assert isinstance(parts.retriever, Retriever) and isinstance(parts.generator, Generator)
    assert parts.store.space == parts.embedder.space
    assert parts.metrics.names == ["recall@10", "mrr@10", "ndcg@10", "em", "f1", "match"]
    assert parts.pipeline.method.name == "standard"  # method=standard is the default


def test_lexical_run_builds_no_embedder(compose_cfg):
    parts = build(compose_cfg("retriever=bm25"))
    assert parts.embedder is None and parts.store.space == "lexical"


def test_unknown_group_option_suggests_close_match(compose_cfg):
    with pytest.raises(ConfigError, match=r"Unknown retriever option 'bm52'\. Did you mean: 'bm25'\?.*dense"):
        compose_cfg("retriever=bm52")


def test_unknown_key_and_unknown_argument(compose_cfg):
    with pytest.raises(ConfigError, match="Invalid configuration overrides"):
        compose_cfg("retriever.bogus=1")
    cfg = compose_cfg("+generator.max_sentense=2")
    parts = build(cfg)  # lazy: nothing is built yet
    with pytest.raises(ConfigError, match=r"unknown argument\(s\) \['max_sentense'\]\. Did you mean: 'max_sentences'"):
        parts.check()  # what run_experiment does before any work


def test_missing_dataset_path_is_clear(compose_cfg):
    parts = build(compose_cfg("dataset=beir_scifact", "dataset.path=/nonexistent/scifact"))
    with pytest.raises(Exception, match="does not exist. Point dataset.path at a BEIR folder"):
        _ = parts.dataset


def test_build_is_lazy_and_settings_are_checked_before_any_work(compose_cfg):
    parts = build(compose_cfg("retriever=bm25"))
    assert parts.tracker is not None and "retriever" not in vars(parts) and "embedder" not in vars(parts)
    for bad, words in (
        ("k=-1", "k=-1 is not valid: k must be an integer >= 1"),
        ("max_failure_rate=2", "max_failure_rate=2 is not valid"),
        ("batch_size=0", "batch_size=0 is not valid"),
    ):
        with pytest.raises(ConfigError, match=words):
            build(compose_cfg(bad)).check()


def test_rank_cut_metric_names_follow_k(compose_cfg):
    """k=5 retrieves five chunks, so its metrics are @5 (they were recall@10/ndcg@10 whatever k was)."""
    assert build(compose_cfg("k=5")).metrics.names == ["recall@5", "mrr@5", "ndcg@5", "em", "f1", "match"]
    assert list(compose_cfg("k=3", "metrics=ragas").metrics.names)[:2] == ["recall@3", "ndcg@3"]
    fixed = build(compose_cfg("k=5", "metrics.names=[ndcg@10,f1]")).metrics.names
    assert fixed == ["ndcg@10", "f1"]  # an explicit list stays as written
