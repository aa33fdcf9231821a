"""Bad method settings get clear errors; what a method did reaches the per-question table, the aggregate,
checkpoints (resume) and the query response; prompts show a follow-up's conversation."""

from __future__ import annotations

import io
from contextlib import redirect_stderr

import pytest

from ragbench.errors import ConfigError
from ragbench.generators import ExtractiveGenerator, PromptTemplate
from ragbench.methods import (
    Adaptive,
    ClosedBook,
    Conversational,
    Decompose,
    Iterative,
    MultiQuery,
    Oracle,
    Refine,
    Rewrite,
)
from ragbench.types import Hit, Query
from tests.support.scripted_llm import ScriptedLLM

LLM = ScriptedLLM([("", "x")])


class _NoPromptGenerator:  # a third-party generator without ragbench's prompt= argument
    def generate(self, queries, contexts):
        return []


@pytest.mark.parametrize(
    "build,message",
    [
        (
            lambda r, g: Rewrite(r, g),
            r"method=rewrite calls an LLM for its intermediate steps, but the generator "
            r"ExtractiveGenerator\(max_sentences=1\) cannot complete prompts.*generator=vllm",
        ),
        (lambda r, g: Rewrite(r, g, llm=ExtractiveGenerator()), r"but method.llm ExtractiveGenerator.*cannot complete"),
        (
            lambda r, g: MultiQuery(r, g, llm=LLM, n_queries=0),
            r"method=multi_query: n_queries=0: each must be a whole number >= 1",
        ),
        (lambda r, g: Iterative(r, g, llm=LLM, max_rounds=0), r"method=iterative: max_rounds=0"),
        (lambda r, g: Iterative(r, g, llm=LLM, marker=" "), r"marker must be a non-empty text"),
        (lambda r, g: Decompose(r, g, llm=LLM, max_sub_questions=2.5), r"max_sub_questions=2.5"),
        (
            lambda r, g: Decompose(r, g, llm=LLM, prompt={"user": "Q: {question} {bogus}"}),
            r"method.prompt.user uses unknown field\(s\) \['bogus'\]; available: question, n",
        ),
        (
            lambda r, g: Rewrite(r, g, llm=LLM, prompt={"usr": "x"}),
            r"method.prompt must be a mapping with keys system and user",
        ),
        (lambda r, g: Adaptive(r, g, threshold=2), r"threshold=2 must be a number in \[0, 1\]"),
        (lambda r, g: Adaptive(r, _NoPromptGenerator(), draft_prompt=PromptTemplate()), r"takes no prompt= argument"),
        (
            lambda r, g: ClosedBook(_NoPromptGenerator(), prompt=PromptTemplate()),
            r"method=closed_book .* takes no prompt=",
        ),
        (lambda r, g: Refine(r, g, mode="abstractive"), r"unknown mode 'abstractive'. Valid: extractive, summary"),
        (lambda r, g: Refine(r, g, mode="extractive"), r"the run has no embedder. Set embedder=minilm"),
        (lambda r, g: Refine(r, g, mode="summary"), r"method=refine calls an LLM"),
        (
            lambda r, g: Conversational(r, g, mode="heuristic", llm=LLM),
            r"Unknown conversational mode 'heuristic'. Valid: llm, concat",
        ),
        (lambda r, g: Conversational(r, g), r"method=conversational calls an LLM"),
    ],
)
def test_bad_settings_say_what_is_wrong_and_how_to_fix_it(demo_bm25, build, message):
    with pytest.raises(ConfigError, match=message):
        build(demo_bm25.retriever, ExtractiveGenerator())


def test_oracle_needs_qrels(demo_bm25):
    from ragbench.data.dataset import Dataset
    from ragbench.types import Sample

    no_qrels = Dataset("nq", [], [Sample("q1", "who?", "t", answers=("x",))])
    with pytest.raises(
        ConfigError, match=r"method=oracle answers from the gold passages \(qrels\), but dataset 'nq' has none"
    ):
        Oracle(ExtractiveGenerator(), no_qrels)


def test_unknown_method_suggests_close_match(compose_cfg):
    with pytest.raises(ConfigError, match=r"Unknown method option 'hide'\. Did you mean: 'hyde'\?"):
        compose_cfg("method=hide")


def test_cli_run_with_an_llm_method_and_no_llm_is_one_clear_error(tmp_path):
    from ragbench.cli import main

    err = io.StringIO()
    with redirect_stderr(err):
        rc = main(
            [
                "run",
                "method=rewrite",
                "generator=extractive",
                "retriever=bm25",
                f"home={tmp_path}",
                "tracking=none",
                "max_queries=1",
                "progress=false",
            ]
        )
    assert rc == 2
    assert err.getvalue().startswith("error: method=rewrite calls an LLM for its intermediate steps")
    assert "Traceback" not in err.getvalue()


def test_trace_reaches_table_aggregate_checkpoint_and_response(demo_bm25, tmp_path):
    from ragbench.evaluation.checkpoint import Checkpoint
    from ragbench.evaluation.evaluate import evaluate
    from ragbench.pipelines.rag import RAGPipeline
    from ragbench.schema import QueryRequest

    llm = ScriptedLLM([("", "vacation days policy")])
    pipe = RAGPipeline(
        demo_bm25.retriever, demo_bm25.generator, k=3, method=Rewrite(demo_bm25.retriever, demo_bm25.generator, llm=llm)
    )
    ds = demo_bm25.dataset.head(4)
    ck = Checkpoint(tmp_path / "run", fingerprint="f").open()
    report = evaluate(ds, pipe, demo_bm25.metrics, metric_names=demo_bm25.metrics.names, checkpoint=ck)
    ck.close()
    row = report.rows()[0]
    assert row["method"] == "rewrite" and row["method.queries"] == ["vacation days policy"]
    assert row["method.llm_calls"] == 1 and row["method.retrieval_rounds"] == 1 and row["method.fallback"] == 0.0
    assert row["method.tokens"] == row["method.prompt_tokens"] + row["method.completion_tokens"] > 0
    assert row["method.steps"] == [{"step": "rewrite", "text": "vacation days policy"}] and "time_ms.rewrite_ms" in row
    o = report.overall
    assert o["method.llm_calls"] == 1.0 and o["method.retrieval_rounds"] == 1.0
    assert o["method.tokens"] == pytest.approx(sum(r["method.tokens"] for r in report.rows()) / 4)
    assert "latency.rewrite_ms.p50" in o and report.per_tenant["acme-robotics"]["method.llm_calls"] == 1.0
    resumed = Checkpoint(tmp_path / "run", fingerprint="f").load()  # a resumed run keeps the traces
    assert resumed[row["question_id"]].to_row() == row
    response = pipe.ask(QueryRequest(question="How many vacation days?", tenant="acme-robotics", k=3))
    assert response.trace["method"] == "rewrite" and response.trace["queries"] == ["vacation days policy"]


def test_ask_with_history_condenses_the_follow_up(demo_bm25):
    from ragbench.pipelines.rag import RAGPipeline
    from ragbench.schema import QueryRequest

    pipe = RAGPipeline(demo_bm25.retriever, demo_bm25.generator, k=3)  # extractive: concatenation, no LLM
    history = [("Who founded the company?", "Margit Olessen and Tobias Vrenn.")]
    response = pipe.ask(QueryRequest(question="In which year?", tenant="acme-robotics", k=3), history=history)
    assert response.trace["notes"]["standalone"] == "Who founded the company? In which year?"
    assert response.trace["notes"]["condensed"] == "concat" and response.sources[0].doc_id == "acme-023"
    # The concatenation is only searched; the follow-up itself is answered. The extractive generator cannot read
    # the conversation, so it answers "In which year?" from the sources alone (an LLM generator sees the history).
    sources = [Hit(s.chunk_id, s.doc_id, "acme-robotics", s.text, s.score, i) for i, s in enumerate(response.sources)]
    follow_up = Query("In which year?", "acme-robotics")
    assert response.answer == demo_bm25.generator.generate([follow_up], [sources])[0].text


def test_prompt_shows_the_conversation_and_drops_it_before_refusing():
    template = PromptTemplate(system="S", history_turns=2, history_answer_chars=5)
    query = Query("And then?", "t", history=(("Q1?", "A1 long answer"), ("Q2?", "A2."), ("Q3?", "A3.")))
    msgs = template.messages(query, [Hit("c", "d", "t", "text", 1.0)])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert [m["content"] for m in msgs[1:5]] == ["Q2?", "A2.", "Q3?", "A3."]
    assert PromptTemplate(system="S").messages(query, [])[1]["role"] == "user"  # history_turns=0: no conversation
    count = lambda m: sum(len(x["content"]) for x in m)
    fitted, kept = template.fit(
        query,
        [Hit("c", "d", "t", "x" * 500, 1.0)],
        count_tokens=count,
        budget=count(template.messages(query, [], turns=1)),
    )
    assert kept == [] and [m["content"] for m in fitted[1:3]] == ["Q3?", "A3."]  # the source, then the oldest turn went
    with pytest.raises(ConfigError, match="history_turns must be >= 0"):
        PromptTemplate(history_turns=-1)


def test_conversations_dataset_loads_follow_ups_with_their_history():
    from ragbench.config import compose, instantiate

    ds = instantiate(compose(["dataset=conversations"]).dataset)
    assert len(ds.samples) == 22 and {s.language for s in ds.samples} == {"en", "hr"}
    assert sum(s.language == "hr" for s in ds.samples) == 10 and all(s.history and s.relevant for s in ds.samples)
    first = ds.samples[0]
    assert first.to_query().history == (
        ("How many paid vacation days does a full-time employee get?", "25 days per year."),
    )
    assert ds.tenants == ["acme-robotics", "harbor-health", "lastavica-logistika"] and len(ds.documents) == 90


def test_conversations_loader_names_a_bad_line(tmp_path):
    from ragbench.data.loaders import load_conversations
    from ragbench.errors import DatasetError

    bad = tmp_path / "c.jsonl"
    bad.write_text(
        '{"_id": "c1", "tenant": "acme-robotics", "history": [{"question": "Q"}], "question": "And?", '
        '"answers": ["x"], "relevant": {"acme-001": 1}}\n'
    )
    with pytest.raises(DatasetError, match=r"c.jsonl:1: history turn 1 must be"):
        load_conversations(bad, corpus="datasets/demo")


def test_variants_pair_methods_with_the_baseline_and_show_what_each_did(demo_bm25):
    """The notebook helpers for methods side by side (notebooks/07_methods.ipynb), on the demo store that is
    already indexed: a paired row per method and metric, and each method's searches and steps per question."""
    import ragbench

    shared = [f"home={demo_bm25.cfg.home}", "progress=false", "generator=extractive", "retriever=bm25"]
    variants = ragbench.run_variants(
        {"standard": ["method=standard"], "refine": ["method=refine", "method.max_sentences=1"]},
        overrides=[*shared, "tracking=none", "max_queries=6", "k=5"],
    )
    table = variants.table(["f1", "recall@5"]).set_index("variant")
    assert list(table.index) == ["standard", "refine"] and (table["questions"] == 6).all()
    assert (table["method.llm_calls"] == 0).all()  # the extractive generator is no LLM
    assert table.loc["refine", "recall@5"] == table.loc["standard", "recall@5"]  # refine retrieves as standard does
    [row] = variants.against("standard", ["f1"]).to_dict("records")
    assert (row["variant"], row["baseline"], row["metric"], row["n"]) == ("refine", "standard", "f1", 6)
    assert row["delta"] == pytest.approx(table.loc["refine", "f1"] - table.loc["standard", "f1"], abs=1e-12)
    assert row["low"] <= row["delta"] <= row["high"] and 0 <= row["p_value"] <= 1
    steps = variants.steps(limit=2)
    assert len(steps) == 4 and list(steps["variant"]) == ["standard", "refine"] * 2
    for _, r in steps.iterrows():
        if r["variant"] == "standard":
            assert r["queries"] == r["question"] and r["steps"] == ""
        else:
            kept = r["steps"].removeprefix("kept: ")
            assert r["steps"].startswith("kept: ") and r["answer"].strip() in kept  # it answered from what it kept
    with pytest.raises(ConfigError, match="No variant named 'hyde'.*Variants: standard, refine"):
        variants.against("hyde")
