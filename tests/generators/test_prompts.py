"""Prompt building, the fitting rule, citation parsing, confidence and cache salts (no model)."""

import math

import pytest

from ragbench.errors import ConfigError, TenantError
from ragbench.generators import PromptTemplate, PromptTooLongError
from ragbench.generators._base import Sampling, build_answer, cache_salt, confidence_from_logprobs
from ragbench.generators._citations import cited_numbers, parse_citations
from ragbench.generators.prompts import estimate_tokens
from ragbench.types import Hit, Query

HITS = [Hit(f"c{i}", f"d{i}", "acme", f"Fact number {i}. " * 5, 1.0 - i / 10, rank=i, title=f"T{i}") for i in range(5)]


def words(msgs):
    return sum(len(m["content"].split()) for m in msgs)


def test_messages_number_sources_in_rank_order_with_titles():
    msgs = PromptTemplate(system="SYS").messages(Query("Which fact?", "acme", language="hr"), HITS[:2])
    assert msgs[0] == {"role": "system", "content": "SYS"}
    user = msgs[1]["content"]
    assert user.startswith("Sources:\n[1] T0\nFact number 0.")
    assert "\n\n[2] T1\nFact number 1." in user
    assert user.endswith("Question: Which fact?\nAnswer in Croatian. Cite sources as [n].")


@pytest.mark.parametrize(
    "mode,lang,expected",
    [
        ("auto", None, "Answer in the language of the question."),
        ("auto", "sr", "Answer in Serbian."),
        ("question", "sr", "Answer in the language of the question."),
        ("de", "sr", "Answer in German."),
    ],
)
def test_answer_language_modes(mode, lang, expected):
    msgs = PromptTemplate(answer_language=mode).messages(Query("Q?", "acme", language=lang), [])
    assert expected in msgs[1]["content"] and "(no sources were found)" in msgs[1]["content"]


@pytest.mark.parametrize(
    "question,given,expected",
    [
        ("Koliko se često moraju mijenjati lozinke?", None, "Answer in Croatian."),
        ("Колико дана годишњег одмора имају запослени?", None, "Answer in Serbian."),
        ("How often do passwords have to be changed?", None, "Answer in English."),
        ("Koliko dana?", None, "Answer in the language of the question."),  # < 3 words: not detected
        ("Koliko se često moraju mijenjati lozinke?", "en", "Answer in English."),  # a given language wins
    ],
)
def test_detect_mode_answers_in_the_questions_language(question, given, expected):
    """answer_language=detect (every prompt in configs/prompt/) uses ingestion's detector and rule."""
    msgs = PromptTemplate(answer_language="detect").messages(Query(question, "acme", language=given), [])
    assert msgs[1]["content"].endswith(f"{expected} Cite sources as [n].")


def test_bad_prompt_settings_are_refused():
    with pytest.raises(ConfigError, match="answer_language 'klingon' is not valid.*auto"):
        PromptTemplate(answer_language="klingon")
    with pytest.raises(ConfigError, match="max_source_chars must be >= 1"):
        PromptTemplate(max_source_chars=0)


def test_fit_drops_lowest_ranked_sources_first():
    p = PromptTemplate()
    full = words(p.messages(Query("Which fact?", "acme"), HITS))
    three = words(p.messages(Query("Which fact?", "acme"), HITS[:3]))
    msgs, kept = p.fit(Query("Which fact?", "acme"), HITS, count_tokens=words, budget=three)
    assert [h.doc_id for h in kept] == ["d0", "d1", "d2"] and words(msgs) == three < full
    msgs, kept = p.fit(Query("Which fact?", "acme"), HITS, count_tokens=words, budget=full)
    assert len(kept) == 5


def test_fit_refuses_a_question_that_alone_is_too_long():
    with pytest.raises(PromptTooLongError, match=r"needs \d+ prompt tokens but only 10 fit"):
        PromptTemplate().fit(Query("word " * 50, "acme"), HITS, count_tokens=words, budget=10)


def test_sources_are_cut_to_max_source_chars():
    msgs = PromptTemplate(max_source_chars=12).messages(Query("Q", "acme"), [HITS[0]])
    assert "[1] T0\nFact number " in msgs[1]["content"] and "Fact number 0. Fact" not in msgs[1]["content"]


def test_citations_map_numbers_to_documents_and_drop_invented_ones():
    assert cited_numbers("a [3] b [1, 2] c [2][4; 5] [x] [ 1 ]") == [3, 1, 2, 4, 5]
    ids, invalid = parse_citations("Yes [2], also [1][2] and [9].", HITS[:3])
    assert ids == ("d1", "d0") and invalid == [9]
    assert parse_citations("No citation.", HITS) == ((), [])


def test_confidence_is_geometric_mean_probability():
    assert confidence_from_logprobs([math.log(0.9)] * 4) == pytest.approx(0.9)
    assert confidence_from_logprobs([math.log(1.0), math.log(0.25)]) == pytest.approx(0.5)
    assert confidence_from_logprobs([]) is None
    answer = build_answer(
        " Oslo [1]. ",
        HITS,
        prompt_tokens=10,
        completion_tokens=3,
        logprobs=[math.log(0.5)] * 3,
        ttft_ms=5.0,
        total_ms=9.0,
    )
    assert (answer.text, answer.citations, answer.confidence) == ("Oslo.", ("d0",), 0.5)
    assert answer.timings == {"total_ms": 9.0, "ttft_ms": 5.0} and answer.ok


def test_cache_salt_is_per_tenant_stable_and_validated():
    assert cache_salt("acme") == cache_salt("acme") != cache_salt("globex")
    assert cache_salt("acme", "s1") != cache_salt("acme", "s2")
    with pytest.raises(TenantError):
        cache_salt("../other")


def test_sampling_validation_and_token_estimate():
    with pytest.raises(ConfigError, match="top_p in \\(0, 1\\]"):
        Sampling(top_p=0)
    assert estimate_tokens("abcdef") == 2 and estimate_tokens("žž") == 2  # 4 UTF-8 bytes
