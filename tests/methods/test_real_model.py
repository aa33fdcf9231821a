"""Methods on the real small instruct model (SmolLM2-135M-Instruct through the in-process transformers
generator, greedy): what the model writes is not scripted here, so these tests check the rules that must
hold whatever it writes (adaptive's retrieval rule, iterative's stop reasons, conversational condensing,
the cost tallies against the engine's own token counts)."""

from __future__ import annotations

import statistics

import pytest

from ragbench.types import Query

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = {  # demo questions (acme-robotics), answered closed-book by some and not by others
    "acme-q1": "Who founded the company?",
    "acme-q2": "How many paid vacation days does a full-time employee get?",
    "acme-q3": "Which VPN client must be used on company laptops?",
    "acme-q4": "What is the capital of France?",
}


@pytest.fixture(scope="module")
def smollm(demo_bm25, real_llm):
    """The demo home's BM25 store with SmolLM2 as generator (the same model answers and runs the steps)."""
    from ragbench.config import build, compose

    home = demo_bm25.settings.home
    overrides = [f"home={home}", "progress=false", "retriever=bm25", "tracking=none", "generator=transformers"]
    overrides += [f"llm.path={real_llm}", "prompt=short_answer", "generator.max_tokens=24", "generator.cache_dir=null"]
    return build(compose(overrides))


def _queries() -> list[Query]:
    return [Query(text, "acme-robotics") for text in QUESTIONS.values()]


def test_adaptive_retrieves_exactly_where_its_confidence_rule_says(smollm):
    from ragbench.config import compose, instantiate
    from ragbench.methods import Adaptive, ClosedBook

    draft_prompt = instantiate(compose(["method=adaptive"]).method.draft_prompt)
    drafts = ClosedBook(smollm.generator, prompt=draft_prompt).run(_queries(), k=3)
    confidences = [r.answer.confidence for r in drafts]
    assert all(c is not None and 0.0 < c <= 1.0 for c in confidences), confidences
    threshold = statistics.median(confidences)  # some drafts above it, some below
    results = Adaptive(smollm.retriever, smollm.generator, threshold=threshold, draft_prompt=draft_prompt).run(
        _queries(), k=3
    )
    retrieved = []
    for r in results:
        t = r.trace
        assert r.answer is not None and r.answer.ok, r.answer
        rule = t.values["draft_confidence"] < threshold
        assert t.values["retrieved"] == float(rule)
        assert t.retrieval_rounds == int(rule) and bool(r.hits) == rule
        assert t.llm_calls == 1 + int(rule)  # the draft, plus the RAG answer when it retrieved
        retrieved.append(rule)
    assert 0 < sum(retrieved) < len(retrieved), (confidences, threshold)  # both branches were taken


def test_iterative_stop_reasons_match_its_rounds(smollm):
    from ragbench.methods import Iterative
    from ragbench.methods.steps import first_line

    max_rounds = 2
    results = Iterative(smollm.retriever, smollm.generator, max_rounds=max_rounds, max_tokens=32).run(_queries(), k=3)
    for query, r in zip(_queries(), results, strict=True):
        t = r.trace
        reasons = [s["text"] for s in t.steps if s["step"] == "reason"]
        assert t.values["rounds"] == len(reasons) <= max_rounds
        stopped = t.notes["stopped"]
        if stopped == "answer":
            assert "so the answer is:" in reasons[-1].casefold()
        elif stopped == "round_limit":
            assert len(reasons) == max_rounds and not any("so the answer is:" in x.casefold() for x in reasons)
        else:
            assert stopped == "empty" and first_line(reasons[-1]) == ""
        # round 0 searches with the question; every reasoning sentence without the answer is searched next
        assert t.queries[0] == query.text and t.retrieval_rounds == len(t.queries)
        # a sentence without the answer is searched as its first line without labels (methods.steps.first_line)
        searched = [first_line(x) for x in reasons if "so the answer is:" not in x.casefold()]
        searched = [x for x in searched if x]
        assert t.queries[1:] == searched
        assert t.llm_calls == len(reasons) + 1  # the sentences, then the answer


def test_conversational_condenses_with_the_model_and_counts_its_tokens(smollm):
    from ragbench.methods import Condenser, Conversational

    history = (("How many paid vacation days does a full-time employee get?", "25 days per year."),)
    follow_up = Query("And how many of those can I keep for later?", "acme-robotics", history=history)
    [r] = Conversational(smollm.retriever, smollm.generator).run([follow_up], k=3)
    t = r.trace
    assert t.notes["condensed"] in ("llm", "concat_fallback")
    standalone = t.notes["standalone"]
    assert standalone.strip() and standalone != follow_up.text
    assert t.queries == [standalone] and t.llm_calls == 2  # condense, then answer
    messages = Condenser(None, mode="concat").messages(follow_up)  # the prompt the method sent
    [condense] = smollm.generator.complete([messages], tenants=["acme-robotics"], max_tokens=64, stop=("\n",))
    assert t.steps[0] == {"step": "condense", "text": condense.text.strip()}  # greedy: the same text again
    assert t.prompt_tokens == condense.prompt_tokens + r.answer.prompt_tokens
    assert t.completion_tokens == condense.completion_tokens + r.answer.completion_tokens
