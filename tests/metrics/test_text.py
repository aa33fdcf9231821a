"""ROUGE-L and BLEU equal their reference implementations (rouge_score, sacrebleu) on real answers."""

import json
import random

import pytest
from rouge_score import rouge_scorer
from sacrebleu import sentence_bleu

from ragbench.metrics import get_metric
from ragbench.metrics.text import bleu, bleu_tokens, rouge_l
from ragbench.types import Answer, QuestionResult, Sample
from tests.conftest import require_shared


def _pairs():
    """(prediction, golds) pairs from the shared HotpotQA/MuSiQue originals: answers vs. other answers and
    supporting sentences, so scores cover 0, partial and full overlap."""
    rng = random.Random(3)
    hotpot = json.loads((require_shared("hotpotqa_sample100") / "original/hotpotqa_train.json").read_text())
    musique = json.loads((require_shared("musique_sample100") / "original/musique_train.json").read_text())
    golds = [[q["answer"]] for q in hotpot] + [[q["answer"], *q["answer_aliases"]] for q in musique]
    sentences = [s for q in hotpot for _, sents in q["context"] for s in sents[:1]]
    pairs = []
    for g in golds:
        pairs.append((g[0], g))  # exact
        pairs.append((f"It is {g[0].lower()}, I think.", g))  # partial, case and punctuation
        pairs.append((rng.choice(sentences), g))  # mostly unrelated
    pairs += [(rng.choice(sentences), [rng.choice(sentences), rng.choice(sentences)]) for _ in range(100)]
    return pairs


PAIRS = _pairs()


def test_rouge_l_equals_rouge_score():
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    nonzero = 0
    for pred, golds in PAIRS:
        ref = max(scorer.score(g, pred)["rougeL"].fmeasure for g in golds)
        assert rouge_l(pred, golds) == pytest.approx(ref, abs=1e-12), (pred, golds)
        nonzero += 0 < ref < 1
    assert nonzero > 100  # the data exercise partial overlaps, not only 0 and 1


def test_bleu_equals_sacrebleu_sentence_bleu():
    partial = 0
    for pred, golds in PAIRS:
        ref = sentence_bleu(pred, golds).score / 100
        assert bleu(pred, golds) == pytest.approx(ref, abs=1e-9), (pred, golds)
        partial += 0 < ref < 1
    assert partial > 100


def test_exact_values_on_tiny_data():
    assert rouge_l("the cat sat on the mat", ["a cat sat on a mat"]) == pytest.approx(4 / 6)
    assert rouge_l("", ["x"]) == 0.0 and bleu("", ["x"]) == 0.0
    assert bleu("the cat is on the mat", ["the cat is on the mat"]) == pytest.approx(1.0)
    assert bleu_tokens("3.50, and 1-2") == ["3.50", ",", "and", "1", "-", "2"]


def test_registry_scores_answers_and_skips_failures():
    sample = Sample("q", "who?", "t", answers=("Paris",))
    ok = QuestionResult(sample, [], Answer("Paris, France"))
    failed = QuestionResult(sample, [], Answer("", error="timeout"))
    assert get_metric("rouge_l")(sample, ok) == {"rouge_l": pytest.approx(2 / 3)}
    assert get_metric("bleu")(sample, ok)["bleu"] == pytest.approx(sentence_bleu("Paris, France", ["Paris"]).score / 100)
    assert get_metric("bleu")(sample, failed) == {}
    with pytest.raises(KeyError, match="rouge_l"):
        get_metric("rouge-l")
