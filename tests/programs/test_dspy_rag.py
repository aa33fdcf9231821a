"""DSPy RAG program over a real BM25 retriever (LanceDB) and a real vLLM server on the tiny Qwen2.

The tiny model has random weights, so its requests carry a vLLM ``structured_outputs`` regex that
makes it write in DSPy's ChatAdapter format; everything else (DSPy, litellm, HTTP, vLLM, the
retriever, the metric bridge, BootstrapFewShot) is the real code path.
"""

import os
import re

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not reach the network at import
pytest.importorskip("dspy")

import dspy

from ragbench.programs import RAGProgram, bootstrap, dspy_metric, examples_from_dataset, make_lm, score_program
from ragbench.types import Hit

FORMAT = r"\[\[ ## answer ## \]\]\n[a-z]{2,8}( [a-z]{2,8}){0,3} \[[1-3]\]\n\n\[\[ ## completed ## \]\]"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset

    home = tmp_path_factory.mktemp("dspy-home")
    parts = build(compose([f"home={home}", "progress=false", "retriever=bm25", "generator=extractive"]))
    ingest_dataset(parts)
    return parts


def test_metric_bridge_scores_like_ragbench():
    ex = dspy.Example(question="How many days?", tenant="acme", answers=["25 days"], relevant={"leave": 1}).with_inputs(
        "question", "tenant"
    )
    hits = [Hit("c1", "other", "acme", "x", 1.0), Hit("c2", "leave", "acme", "y", 0.5, rank=1)]
    assert dspy_metric("f1")(ex, dspy.Prediction(answer="25 days [2]", hits=hits)) == 1.0
    assert dspy_metric("em")(ex, dspy.Prediction(answer="about 25 days", hits=hits)) == 0.0
    assert dspy_metric("f1")(ex, dspy.Prediction(answer="about 25 days", hits=hits)) == pytest.approx(0.8)
    assert dspy_metric("mrr@10")(ex, dspy.Prediction(answer="", hits=hits)) == 0.5
    assert dspy_metric("f1", threshold=0.9)(ex, dspy.Prediction(answer="about 25 days"), trace=[]) is False
    with pytest.raises(KeyError, match="Did you mean: 'f1'"):
        dspy_metric("f2")


def test_examples_from_demo_dataset(demo):
    examples = examples_from_dataset(demo.dataset, limit=3)
    assert len(examples) == 3 and all(e.answers and e.relevant for e in examples)
    assert set(examples[0].inputs().keys()) == {"question", "tenant"}


@pytest.mark.integration
@pytest.mark.slow
def test_rag_program_answers_through_the_server_and_bootstraps(demo, vllm_server):
    examples = [e for e in examples_from_dataset(demo.dataset) if e.tenant == "acme-robotics"]
    lm = make_lm(
        vllm_server.base_url,
        "tiny-qwen2",
        tenant="acme-robotics",
        max_tokens=64,
        extra_body={"structured_outputs": {"regex": FORMAT}},
    )
    program = RAGProgram(demo.retriever, tenant="acme-robotics", k=3, lm=lm, max_passage_chars=120)
    pred = program(question=examples[0].question)
    assert re.fullmatch(r"[a-z]{2,8}( [a-z]{2,8}){0,3} \[[1-3]\]", pred.answer), pred.answer
    assert len(pred.hits) == 3 and {h.tenant for h in pred.hits} == {"acme-robotics"}
    n = int(pred.answer[-2])
    assert pred.citations == (pred.hits[n - 1].doc_id,)
    sent = lm.history[-1]
    assert examples[0].question in " ".join(m["content"] for m in sent["messages"])
    from ragbench.generators._base import cache_salt

    # extra_body reaches the server (the regex above shaped the answer), and carries the tenant's salt
    assert lm.kwargs["extra_body"]["cache_salt"] == cache_salt("acme-robotics")

    metric = dspy_metric("f1")
    before = score_program(program, examples[4:7], metric)
    compiled = bootstrap(program, examples[:4], metric, max_bootstrapped_demos=1, max_labeled_demos=2)
    demos = compiled.generate.demos
    after = score_program(compiled, examples[4:7], metric)
    print(f"\nDSPy BootstrapFewShot on demo/acme: {len(demos)} demos; f1 before {before}, after {after}")
    assert before["n"] == after["n"] == 3 and before["failed"] == after["failed"] == 0
    assert 1 <= len(demos) <= 2 and all(d.question in {e.question for e in examples[:4]} for d in demos)
    compiled(question=examples[5].question)
    prompt = " ".join(m["content"] for m in compiled.lm.history[-1]["messages"])  # the copy's own LM
    assert demos[0].question in prompt and demos[0].answer in prompt  # the tuned prompt carries the demos
    assert program.generate.demos == []  # the student was not modified


@pytest.mark.integration
@pytest.mark.slow
def test_optimize_on_a_training_split_scored_on_held_out_questions_with_the_real_model(
    demo, real_llm_server, monkeypatch
):
    """BootstrapFewShot on the real SmolLM2: trained on one split, both programs scored on the held-out
    split with CIs and a paired test, logged to MLflow. The effect is reported whatever its sign."""
    import mlflow

    from ragbench.programs import optimize_rag

    monkeypatch.setenv("RAGBENCH_LLM_BASE_URL", real_llm_server.base_url)
    monkeypatch.setenv("RAGBENCH_LLM_NAME", "smollm2-135m-instruct")
    result = optimize_rag(demo, tenant="acme-robotics", metric="match", train=6, heldout=10, max_demos=2)
    held = {r["question"] for r in result.rows}
    train_questions = {e.question for e in examples_from_dataset(demo.dataset) if e.id in set(result.train_ids)}
    assert len(held) == 10 and len(result.train_ids) == 6 and not held & train_questions  # disjoint splits
    for side in (result.before, result.after):
        assert side["n"] + side["failed"] == 10
        if side["score"] is not None:
            assert side["ci_low"] <= side["score"] <= side["ci_high"]
    both = sum(1 for r in result.rows if r["before.match"] is not None and r["after.match"] is not None)
    assert result.paired.n == both
    assert 1 <= len(result.demos) <= 2 and all(d["question"] in train_questions for d in result.demos)
    print(
        f"\nDSPy on SmolLM2 (acme, match): before {result.before}, after {result.after}, "
        f"delta {result.paired.delta:+.3f} [{result.paired.low:.3f}, {result.paired.high:.3f}] p={result.paired.p_value:.3g}"
    )
    run = mlflow.tracking.MlflowClient(demo.tracker.tracking_uri).get_run(result.run_id)
    assert run.data.params["train"] == "6" and run.data.params["heldout"] == "10"
    assert {"dspy/before/n", "dspy/after/n", "dspy/paired_n", "dspy/delta/ci_low"} <= set(run.data.metrics)
    assert not any(k.startswith(("before.", "after.")) for k in run.data.metrics)
