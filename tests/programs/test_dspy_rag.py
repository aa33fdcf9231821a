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

import dspy  # noqa: E402

from ragbench.programs import RAGProgram, bootstrap, dspy_metric, examples_from_dataset, make_lm, score_program  # noqa: E402
from ragbench.types import Hit  # noqa: E402

FORMAT = r"\[\[ ## answer ## \]\]\n[a-z]{2,8}( [a-z]{2,8}){0,3} \[[1-3]\]\n\n\[\[ ## completed ## \]\]"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ragbench.config import build, compose
    from ragbench.pipelines.experiment import ingest_dataset

    home = tmp_path_factory.mktemp("dspy-home")
    parts = build(compose([f"home={home}", "progress=false", "retriever=bm25", "generator=extractive"]))
    ingest_dataset(parts)
    return parts


def test_metric_bridge_scores_like_ragbench():
    ex = dspy.Example(question="How many days?", tenant="acme", answers=["25 days"],
                      relevant={"leave": 1}).with_inputs("question", "tenant")
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
    lm = make_lm(vllm_server.base_url, "tiny-qwen2", tenant="acme-robotics", max_tokens=64,
                 extra_body={"structured_outputs": {"regex": FORMAT}})
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
