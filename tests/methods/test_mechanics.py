"""Each RAG method's mechanics on real parts (LanceDB BM25 over the demo, the extractive generator, MiniLM):
what is retrieved with what, in which order, how often, and what the per-question trace says.

The intermediate LLM steps are scripted (``tests.support.scripted_llm.ScriptedLLM``) where the behaviour under test
depends on exactly what the LLM writes (a second sub-question, an answer marker in round 2): no real model
writes a chosen text on demand. What the real model does is tested in test_real_model.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ragbench.generators import ExtractiveGenerator
from ragbench.methods import (
    Conversational,
    Decompose,
    HyDE,
    Iterative,
    MultiQuery,
    Refine,
    Rewrite,
    Standard,
)
from ragbench.retrievers.fusion import rrf_fuse
from ragbench.types import Completion, Query
from tests.support.scripted_llm import ScriptedLLM

FOUNDED = "Who founded the company?"


def q(text: str, tenant: str = "acme-robotics", **kw) -> Query:
    return Query(text=text, tenant=tenant, **kw)


def test_standard_keeps_todays_behaviour_and_traces_it(demo_bm25):
    [r] = Standard(demo_bm25.retriever, demo_bm25.generator).run([q(FOUNDED)], k=5)
    assert [h.doc_id for h in r.hits] == [h.doc_id for h in demo_bm25.retriever.retrieve([q(FOUNDED)], 5)[0]]
    assert "Margit Olessen" in r.answer.text
    t = r.trace
    assert (t.method, t.retrieval_rounds, t.queries, t.llm_calls) == ("standard", 1, [FOUNDED], 0)  # extractive: no LLM
    assert set(r.timings) == {"retrieve_ms", "generate_ms", "total_ms"}
    assert r.timings["total_ms"] == pytest.approx(r.timings["retrieve_ms"] + r.timings["generate_ms"])


def test_rewrite_searches_with_the_rewrite_and_answers_the_question(demo_bm25):
    llm = ScriptedLLM([("When was", "Search query: Acme Robotics founded garage Kettle Lane"), ("", "")])
    rewrite = Rewrite(demo_bm25.retriever, demo_bm25.generator, llm=llm)
    ok, empty = rewrite.run([q("When was it started?"), q("Where do we gather when the building is evacuated?")], k=3)
    assert ok.trace.queries == ["Acme Robotics founded garage Kettle Lane"] and ok.hits[0].doc_id == "acme-023"
    assert ok.trace.steps == [{"step": "rewrite", "text": "Search query: Acme Robotics founded garage Kettle Lane"}]
    assert (ok.trace.llm_calls, ok.trace.values["fallback"]) == (1, 0.0) and ok.trace.completion_tokens == 8
    assert llm.calls[0][-1]["content"] == "Question: When was it started?\nSearch query:"
    # an empty rewrite searches with the question itself, and says so
    assert (
        empty.trace.queries == ["Where do we gather when the building is evacuated?"]
        and empty.trace.values["fallback"] == 1.0
    )
    assert empty.hits[0].doc_id == "acme-022"
    assert set(ok.timings) == {"rewrite_ms", "retrieve_ms", "generate_ms", "total_ms"}


def test_hyde_searches_with_question_and_hypothetical_passage(demo_bm25):
    passage = "The assembly point is car park C beside the water tower."
    llm = ScriptedLLM([("", passage)])
    with_q, alone = (
        HyDE(demo_bm25.retriever, demo_bm25.generator, llm=llm, include_question=flag).run(
            [q("Where do we meet in a fire?")], k=3
        )[0]
        for flag in (True, False)
    )
    assert with_q.trace.queries == [f"Where do we meet in a fire? {passage}"] and alone.trace.queries == [passage]
    assert with_q.hits[0].doc_id == alone.hits[0].doc_id == "acme-022"


def test_multi_query_retrieves_question_and_distinct_paraphrases_and_fuses_them_with_rrf(demo_bm25):
    llm = ScriptedLLM(
        [
            (
                "",
                "1. vacation days carried over deadline\n2. unused vacation expiry date\n"
                "3. Vacation days carried over deadline\n4. extra line beyond n",
            )
        ]
    )
    question = q("By what date must vacation days carried over from last year be used?")
    [r] = MultiQuery(demo_bm25.retriever, demo_bm25.generator, llm=llm, n_queries=3, candidates=10).run([question], k=5)
    assert r.trace.queries == [
        question.text,
        "vacation days carried over deadline",
        "unused vacation expiry date",
        "extra line beyond n",
    ][:3] + ["extra line beyond n"]  # the case-insensitive duplicate dropped
    assert r.trace.values["paraphrases"] == 3.0 and r.trace.retrieval_rounds == 4 and r.trace.llm_calls == 1
    rankings = demo_bm25.retriever.retrieve([replace(question, text=t) for t in r.trace.queries], 10)
    assert [h.chunk_id for h in r.hits] == [h.chunk_id for h in rrf_fuse(rankings, 5)]
    assert r.hits[0].doc_id == "acme-001"


def test_decompose_answers_sub_questions_in_order_with_earlier_answers(demo_bm25):
    llm = ScriptedLLM(
        [("", "1. Who founded Acme Robotics?\n2. Until which year did that founder serve as chief executive?")]
    )
    question = q("Until which year did the founder of the company serve as chief executive?")
    [r] = Decompose(demo_bm25.retriever, demo_bm25.generator, llm=llm).run([question], k=3)
    t = r.trace
    assert t.sub_questions == [
        "Who founded Acme Robotics?",
        "Until which year did that founder serve as chief executive?",
    ]
    assert len(t.sub_answers) == 2 and "Margit Olessen" in t.sub_answers[0]
    # turn 2 searched with its sub-question plus the answer of turn 1, in that order
    assert t.queries == [t.sub_questions[0], f"{t.sub_questions[1]} {t.sub_answers[0]}"]
    assert t.retrieval_rounds == 2 and t.llm_calls == 1  # the decomposition; answers come from the extractive generator
    assert "2017" in t.sub_answers[1] and "acme-023" in [h.doc_id for h in r.hits]
    assert r.answer.ok and {"decompose_ms", "sub_retrieve_ms", "sub_answer_ms", "generate_ms"} <= set(r.timings)


def test_decompose_without_usable_sub_questions_answers_the_question_itself(demo_bm25):
    [r] = Decompose(demo_bm25.retriever, demo_bm25.generator, llm=ScriptedLLM([("", "  \n")])).run([q(FOUNDED)], k=3)
    assert r.trace.sub_questions == [FOUNDED] and "Margit Olessen" in r.trace.sub_answers[0]


def test_iterative_stops_when_a_step_gives_the_answer(demo_bm25):
    replies = iter(["Acme Robotics was founded by Margit Olessen.", "So the answer is: 2017\nmore text"])
    llm = ScriptedLLM([("", lambda messages: next(replies))])
    question = q("Until which year did the founder of the company serve as chief executive?")
    [r] = Iterative(demo_bm25.retriever, demo_bm25.generator, llm=llm, max_rounds=4).run([question], k=3)
    t = r.trace
    assert (t.values["rounds"], t.notes["stopped"]) == (2.0, "answer")
    assert t.queries == [question.text, "Acme Robotics was founded by Margit Olessen."] and t.retrieval_rounds == 2
    assert [s["text"] for s in t.steps] == ["Acme Robotics was founded by Margit Olessen.", "So the answer is: 2017"]
    assert "Steps so far: Acme Robotics was founded by Margit Olessen." in llm.calls[1][-1]["content"]


def test_iterative_stops_at_the_round_limit(demo_bm25):
    llm = ScriptedLLM([("", "Acme Robotics has a canteen.")])
    [r] = Iterative(demo_bm25.retriever, demo_bm25.generator, llm=llm, max_rounds=3).run([q(FOUNDED)], k=3)
    assert (r.trace.values["rounds"], r.trace.notes["stopped"]) == (3.0, "round_limit")
    assert r.trace.llm_calls == 3 and r.trace.retrieval_rounds == 4 and len(llm.calls) == 3


def test_refine_keeps_the_sentences_it_claims(demo_bm25, minilm):
    import numpy as np

    from ragbench._text import split_sentences

    class Recording(ExtractiveGenerator):  # the real extractive generator, keeping the context it was given
        seen: list = []

        def generate(self, queries, contexts, **kw):
            self.seen.extend(contexts)
            return super().generate(queries, contexts, **kw)

    gen = Recording()
    question = q("How quickly must a lost laptop be reported to IT?")
    [r] = Refine(demo_bm25.retriever, gen, embedder=minilm, max_sentences=3, max_chars=400).run([question], k=4)
    kept = [s for s in r.trace.steps if s["step"] == "kept"]
    [context] = gen.seen
    assert len(context) == 1 and context[0].text == " ".join(s["text"] for s in kept)  # exactly what it claims
    candidates = [(h.doc_id, s) for h in r.hits for s in split_sentences(h.text)]
    scores = minilm.embed_documents([s for _, s in candidates]) @ minilm.embed_queries([question.text])[0]
    best = [candidates[j][1] for j in np.argsort(-scores, kind="stable")]
    assert [s["text"] for s in kept] == [s for s in best if len(s) <= 400][: len(kept)][:3]  # best first, by cosine
    assert len(kept) == 3 and all((s["doc_id"], s["text"]) in candidates for s in kept)
    assert r.trace.values["compression_ratio"] == pytest.approx(
        len(context[0].text) / sum(len(h.text) for h in r.hits), abs=1e-6
    )
    assert r.answer.text in {s["text"] for s in kept} and "2 hours" in r.answer.text


def test_conversational_searches_with_the_standalone_question(demo_bm25):
    history = (("How many paid vacation days does a full-time employee get?", "25 days."),)
    llm = ScriptedLLM(
        [
            ("Last question: And how many", "Rewritten question: How many unused vacation days can be carried over?"),
            ("Last question: And then?", ""),
            ("Last question: broken", Completion(text="", error="HTTP 500")),
        ]
    )
    method = Conversational(demo_bm25.retriever, demo_bm25.generator, llm=llm)
    asked = [
        q("And how many can be moved to next year?", history=history),
        q("And then?", history=history),
        q("broken", history=history),
        q(FOUNDED),
    ]
    llm_cond, fallback, failed, plain = method.run(asked, k=3)
    assert llm_cond.trace.notes == {
        "standalone": "How many unused vacation days can be carried over?",
        "condensed": "llm",
        "inner": "standard",
    }
    assert (
        llm_cond.trace.queries == ["How many unused vacation days can be carried over?"]
        and llm_cond.trace.llm_calls == 1
    )
    assert llm_cond.hits[0].doc_id == "acme-001" and "condense_ms" in llm_cond.timings
    assert (
        "User: How many paid vacation days does a full-time employee get?\nAssistant: 25 days."
        in llm.calls[0][-1]["content"]
    )
    assert fallback.trace.notes["condensed"] == "concat_fallback"
    assert fallback.trace.queries == ["How many paid vacation days does a full-time employee get? And then?"]
    assert failed.answer.error == "condense step failed: HTTP 500" and failed.hits == []
    assert plain.trace.notes["condensed"] == "none" and plain.trace.queries == [FOUNDED] and len(llm.calls) == 3


def test_a_failed_step_fails_only_its_question(demo_bm25):
    llm = ScriptedLLM([("crash", Completion(text="", error="vLLM engine error: boom")), ("", "vacation days")])
    out = Rewrite(demo_bm25.retriever, demo_bm25.generator, llm=llm).run([q("crash here"), q("vacation?")], k=3)
    assert out[0].answer.error == "rewrite step failed: vLLM engine error: boom" and out[0].hits == []
    assert out[0].trace.llm_calls == 1 and out[0].trace.retrieval_rounds == 0
    assert out[1].answer.ok and out[1].trace.queries == ["vacation days"]


class _Recording(ExtractiveGenerator):
    """The real extractive generator, keeping every (query, context) it was asked to answer."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[Query, list]] = []

    def generate(self, queries, contexts, **kw):
        self.asked.extend(zip(queries, (list(c) for c in contexts)))
        return super().generate(queries, contexts, **kw)


def test_decompose_final_answer_sees_every_sub_answer_and_the_fused_passages(demo_bm25):
    llm = ScriptedLLM(
        [("", "1. Who founded Acme Robotics?\n2. Until which year did that founder serve as chief executive?")]
    )
    gen = _Recording()
    question = q("Until which year did the founder of the company serve as chief executive?")
    [r] = Decompose(demo_bm25.retriever, gen, llm=llm).run([question], k=3)
    t = r.trace
    assert [a.text for a, _ in gen.asked] == [*t.sub_questions, question.text]  # sub-questions in order, then it
    final_query, final_context = gen.asked[-1]
    facts, *passages = final_context
    assert facts.text == "\n".join(f"{s} {a}" for s, a in zip(t.sub_questions, t.sub_answers, strict=True))
    sub_rankings = [ctx for _, ctx in gen.asked[:-1]]
    sub_rankings[1] = [h for h in sub_rankings[1] if h.doc_id != facts.doc_id]  # turn 2 also saw turn 1's answer
    fused = rrf_fuse(sub_rankings, 3)
    assert [h.doc_id for h in passages] == [h.doc_id for h in fused] == [h.doc_id for h in r.hits]
    assert r.answer.ok and r.answer.text and final_query.tenant == "acme-robotics"


def test_refine_splits_sentences_by_the_questions_language(minilm):
    """English rules end a sentence at Croatian "dr. sc." (and would keep "sc." as a sentence of its own)."""
    from ragbench.types import Hit

    text = "Ured je na 3. katu, npr. u sobi 2. Otvoren je danas. Dr. sc. Ivić vodi tim za carinu."

    class Fixed:  # a retriever that returns one Croatian chunk: the test is about the splitting, not retrieval
        def retrieve(self, queries, k):
            return [[Hit(chunk_id="c#0", doc_id="c", tenant="lastavica-logistika", text=text, score=1.0)]]

    question = q("Tko vodi tim za carinu?", tenant="lastavica-logistika", language="hr")
    [r] = Refine(Fixed(), ExtractiveGenerator(), embedder=minilm, max_sentences=5, max_chars=400).run([question], k=1)
    kept = {s["text"] for s in r.trace.steps if s["step"] == "kept"}
    assert r.trace.values["candidate_sentences"] == 3.0
    assert kept == {"Ured je na 3. katu, npr. u sobi 2.", "Otvoren je danas.", "Dr. sc. Ivić vodi tim za carinu."}
    [english] = Refine(Fixed(), ExtractiveGenerator(), embedder=minilm, max_sentences=5, max_chars=400).run(
        [replace(question, language="en")], k=1
    )
    assert english.trace.values["candidate_sentences"] == 4.0  # what Croatian text got before: "Dr. sc." alone


def test_refine_summary_answers_from_the_llm_summary_and_reports_its_compression(demo_bm25):
    summary = "Lost laptops must be reported to IT   within 2 hours.\nThe IT desk then locks the device."
    llm = ScriptedLLM([("Summary:", summary)])
    gen = _Recording()
    question = q("How quickly must a lost laptop be reported to IT?")
    method = Refine(demo_bm25.retriever, gen, mode="summary", llm=llm, max_source_chars=50)
    [r] = method.run([question], k=4)
    [prompt] = llm.calls
    user = prompt[-1]["content"]
    sources = user.split("Passages:\n", 1)[1].split("\n\nQuestion:", 1)[0].split("\n")
    assert sources == [f"[{n}] {h.text[:50]}" for n, h in enumerate(r.hits, 1)]  # numbered, cut to max_source_chars
    assert len(r.hits) == 4 and all(len(h.text) > 50 for h in r.hits)  # so the cut did happen
    assert user.endswith(f"Question: {question.text}\nSummary:")
    [(_, context)] = gen.asked
    assert len(context) == 1 and context[0].text == " ".join(summary.split())  # the summary alone, whitespace folded
    assert r.trace.values["compression_ratio"] == pytest.approx(
        len(context[0].text) / sum(len(h.text) for h in r.hits), abs=1e-6
    )
    assert r.trace.llm_calls == 1 and "2 hours" in r.answer.text


def test_conversational_concat_searches_with_both_questions_but_answers_the_follow_up(demo_bm25):
    """No LLM: the previous question is prepended to the search text only. An unrelated next question used to be
    answered as the concatenation, whose first question (vacation days) the extractive answer then matched."""
    history = (("How many paid vacation days does a full-time employee get?", "25 days."),)
    gen = _Recording()
    follow_up = q("How quickly must a lost laptop be reported to IT?", history=history)
    [r] = Conversational(demo_bm25.retriever, gen, mode="concat").run([follow_up], k=4)
    concat = f"{history[0][0]} {follow_up.text}"
    assert r.trace.queries == [concat] and r.trace.notes["condensed"] == "concat" and r.trace.llm_calls == 0
    [(answered, context)] = gen.asked
    assert answered.text == follow_up.text and answered.history == history  # the follow-up itself, with its history
    assert [h.doc_id for h in context] == [h.doc_id for h in r.hits]  # from what the concatenation found
    assert r.answer.text == ExtractiveGenerator().generate([follow_up], [context])[0].text
    assert "vacation" not in r.answer.text.lower()


class _ConfidentDrafts(_Recording):
    """The extractive generator, whose closed-book drafts (no sources) carry a scripted confidence per question.

    Adaptive's rule reads only the draft's confidence; a real model's confidence cannot be chosen per question,
    so the rule's edges (below, exactly at, above the threshold; a failed draft) are scripted here and the real
    model's own confidences are checked in test_real_model.py."""

    def __init__(self, confidence: dict[str, float | None]) -> None:
        super().__init__()
        self.confidence = confidence

    def complete(self, prompts, **kw):  # an LLM generator's second interface; adaptive must not use it
        raise AssertionError("adaptive drafts through generate(), not complete()")

    def generate(self, queries, contexts, **kw):
        answers = super().generate(queries, contexts, **kw)
        out = []
        for query, context, answer in zip(queries, contexts, answers, strict=True):
            if context:  # an answer from retrieved sources: the plain extractive one
                out.append(answer)
            elif self.confidence[query.text] is None:
                out.append(replace(answer, text="", error="draft engine error"))
            else:
                out.append(replace(answer, text=f"draft: {query.text}", confidence=self.confidence[query.text]))
        return out


def test_adaptive_retrieves_on_exactly_the_questions_below_its_threshold(demo_bm25):
    from ragbench.methods import Adaptive

    confidence = {
        FOUNDED: 0.2,  # unsure: retrieve
        "How quickly must a lost laptop be reported to IT?": 0.5,  # exactly the threshold: keep the draft
        "How many paid vacation days does a full-time employee get?": 0.9,  # sure: keep the draft
        "Where is the head office?": 0.49999,  # just below: retrieve
        "Which draft fails?": None,  # a failed draft fails alone
    }
    gen = _ConfidentDrafts(confidence)
    out = Adaptive(demo_bm25.retriever, gen, threshold=0.5).run([q(t) for t in confidence], k=3)
    by_text = dict(zip(confidence, out, strict=True))
    retrieved = [t for t, r in by_text.items() if r.trace.values.get("retrieved") == 1.0]
    kept = [t for t, r in by_text.items() if r.trace.values.get("retrieved") == 0.0]
    assert retrieved == [FOUNDED, "Where is the head office?"]
    assert kept == [
        "How quickly must a lost laptop be reported to IT?",
        "How many paid vacation days does a full-time employee get?",
    ]
    for text in kept:  # the draft is the answer, nothing was searched
        r = by_text[text]
        assert r.answer.text == f"draft: {text}" and r.hits == [] and r.trace.retrieval_rounds == 0
        assert r.trace.values["draft_confidence"] == confidence[text]
    for text in retrieved:  # standard RAG answered from what it found
        r = by_text[text]
        assert len(r.hits) == 3 and r.trace.retrieval_rounds == 1 and not r.answer.text.startswith("draft:")
        assert r.answer.text == ExtractiveGenerator().generate([q(text)], [r.hits])[0].text
    failed = by_text["Which draft fails?"]
    assert failed.answer.error == "draft step failed: draft engine error" and failed.hits == []
    assert "retrieved" not in failed.trace.values
    # every question was drafted once without sources; only the two unsure ones were asked again with sources
    assert [(a.text, len(c)) for a, c in gen.asked] == [(t, 0) for t in confidence] + [(t, 3) for t in retrieved]


def test_adaptive_refuses_a_generator_without_confidence(demo_bm25):
    from ragbench.errors import ConfigError
    from ragbench.methods import Adaptive

    with pytest.raises(ConfigError, match="decides from the draft answer's confidence"):
        Adaptive(demo_bm25.retriever, ExtractiveGenerator(), threshold=0.5).run([q(FOUNDED)], k=3)
