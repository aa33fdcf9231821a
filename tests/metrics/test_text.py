"""ROUGE-L and BLEU equal their reference implementations (rouge_score, sacrebleu) on real answers: the
English references by name (tokenizer="ascii" / "13a"), the default on every script (Croatian, Serbian
Cyrillic and Latin from EXAMS, Hindi, Chinese)."""

import json
import random

import pytest
from rouge_score import rouge_scorer
from sacrebleu import sentence_bleu

from ragbench.errors import ConfigError
from ragbench.metrics import get_metric
from ragbench.metrics.text import bleu, bleu_tokens, rouge_l
from ragbench.metrics.tokens import word_tokens
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


def test_rouge_l_ascii_equals_rouge_score():
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    nonzero = 0
    for pred, golds in PAIRS:
        ref = max(scorer.score(g, pred)["rougeL"].fmeasure for g in golds)
        assert rouge_l(pred, golds, tokenizer="ascii") == pytest.approx(ref, abs=1e-12), (pred, golds)
        if pred.isascii() and all(g.isascii() for g in golds):  # the default reads ASCII text the same way
            assert rouge_l(pred, golds) == pytest.approx(ref, abs=1e-12), (pred, golds)
        nonzero += 0 < ref < 1
    assert nonzero > 100  # the data exercise partial overlaps, not only 0 and 1


def test_bleu_13a_equals_sacrebleu_sentence_bleu():
    partial = 0
    for pred, golds in PAIRS:
        ref = sentence_bleu(pred, golds).score / 100
        assert bleu(pred, golds, tokenizer="13a") == pytest.approx(ref, abs=1e-9), (pred, golds)
        partial += 0 < ref < 1
    assert partial > 100


class _Words:
    """rouge_score tokenizer protocol around ragbench's Unicode word tokens."""

    tokenize = staticmethod(word_tokens)


def _exams_pairs():
    """(prediction, golds) in Croatian and Serbian (Cyrillic and Latin): each question's correct choice
    against itself, inside a sentence of its paragraph, and against the other choices."""
    pairs = []
    for name in ("dev_hr_with_para.jsonl", "dev_sr_with_para.jsonl"):
        path = require_shared("exams_south_slavic") / "with_paragraphs" / name
        with path.open(encoding="utf-8") as fh:
            for line, _ in zip(fh, range(60)):
                q = json.loads(line)
                choices = {c["label"]: c for c in q["question"]["choices"]}
                gold = choices[q["answerKey"]]
                others = [c["text"] for label, c in choices.items() if label != q["answerKey"]]
                pairs += [
                    (gold["text"], [gold["text"]]),
                    (f"Odgovor: {gold['text'].upper()}.", [gold["text"]]),
                    (gold["para"][:200], [gold["text"]]),
                    (others[0], [gold["text"], *others[1:]]),
                ]
    return pairs


def test_default_tokenizer_on_croatian_and_serbian_equals_the_references():
    """With the same tokens, ROUGE-L equals rouge_score's and BLEU sacrebleu's, on real hr/sr text;
    the ASCII tokenizer loses Cyrillic and diacritics on the same pairs."""
    pairs = _exams_pairs()
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Words())
    cyrillic_lost = 0
    for pred, golds in pairs:
        ref = max(scorer.score(g, pred)["rougeL"].fmeasure for g in golds)
        assert rouge_l(pred, golds) == pytest.approx(ref, abs=1e-12), (pred, golds)
        joined = " ".join(word_tokens(pred))
        ref_bleu = sentence_bleu(joined, [" ".join(word_tokens(g)) for g in golds], tokenize="none").score / 100
        assert bleu(pred, golds) == pytest.approx(ref_bleu, abs=1e-9), (pred, golds)
        cyrillic_lost += (
            pred == golds[0]
            and any("\u0400" <= ch <= "\u04ff" for ch in pred)
            and rouge_l(pred, golds, tokenizer="ascii") == 0
        )
    assert sum(p == g[0] for p, g in pairs) == 120 and all(rouge_l(p, g) == 1.0 for p, g in pairs if p == g[0])
    assert cyrillic_lost >= 30  # identical Serbian Cyrillic answers score 0 with rouge_score's tokenizer


def test_every_script_exact_values():
    # Croatian: diacritics are letters ("Čakovec" is not "Ćakovec"; the ASCII tokenizer sees "akovec" twice)
    assert word_tokens("Čakovec, ĆAKOVEC i Đakovo!") == ["čakovec", "ćakovec", "i", "đakovo"]
    assert rouge_l("Čakovec", ["Ćakovec"]) == 0.0 and rouge_l("Čakovec", ["Ćakovec"], tokenizer="ascii") == 1.0
    assert rouge_l("Grad je Čakovec", ["čakovec"]) == pytest.approx(2 * (1 / 3) / (1 / 3 + 1))
    # Serbian, Cyrillic and Latin script
    assert rouge_l("Београд", ["Београд"]) == 1.0 and rouge_l("Београд", ["Београд"], tokenizer="ascii") == 0.0
    assert bleu("Главни град је Београд.", ["главни град је београд"]) == pytest.approx(1.0)
    assert rouge_l("Glavni grad Srbije je Beograd", ["Beograd"]) == pytest.approx(2 * 0.2 / 1.2)
    # Hindi (Devanagari): vowel signs and viramas are marks inside words, not separators
    assert word_tokens("नई दिल्ली") == ["नई", "दिल्ली"]
    assert rouge_l("भारत की राजधानी नई दिल्ली है", ["नई दिल्ली"]) == pytest.approx(0.5)  # 2 of 6 tokens
    assert rouge_l("भारत की राजधानी नई दिल्ली है", ["नई दिल्ली"], tokenizer="ascii") == 0.0
    # Chinese: one token per Han character
    assert rouge_l("首都是北京。", ["北京"]) == pytest.approx(2 * 0.4 / 1.4)
    # NFKC and case folding: full-width letters and digits, ligatures, ß
    assert word_tokens("ＡＢＣ１２３ ﬁne STRASSE straße") == ["abc123", "fine", "strasse", "strasse"]
    with pytest.raises(ConfigError, match="Unknown tokenizer 'asci'.*Did you mean: 'ascii'"):
        rouge_l("a", ["a"], tokenizer="asci")


def test_exact_values_on_tiny_data():
    assert rouge_l("the cat sat on the mat", ["a cat sat on a mat"]) == pytest.approx(4 / 6)
    assert rouge_l("", ["x"]) == 0.0 and bleu("", ["x"]) == 0.0
    assert bleu("the cat is on the mat", ["the cat is on the mat"]) == pytest.approx(1.0)
    assert bleu_tokens("3.50, and 1-2") == ["3.50", ",", "and", "1", "-", "2"]
    assert bleu("The cat is on the mat", ["the cat is on the mat"], tokenizer="13a") < 1.0  # 13a keeps case


def test_registry_scores_answers_and_skips_failures():
    sample = Sample("q", "who?", "t", answers=("Paris",))
    ok = QuestionResult(sample, [], Answer("Paris, France"))
    failed = QuestionResult(sample, [], Answer("", error="timeout"))
    assert get_metric("rouge_l")(sample, ok) == {"rouge_l": pytest.approx(2 / 3)}
    assert get_metric("bleu")(sample, ok)["bleu"] == pytest.approx(
        sentence_bleu("paris france", ["paris"], tokenize="none").score / 100
    )
    assert get_metric("bleu")(sample, failed) == {}
    assert get_metric("bleu_13a")(sample, ok)["bleu_13a"] == pytest.approx(
        sentence_bleu("Paris, France", ["Paris"]).score / 100
    )
    serbian = Sample("q", "Који је главни град Србије?", "t", answers=("Београд",))
    assert get_metric("rouge_l")(serbian, QuestionResult(serbian, [], Answer("Београд."))) == {"rouge_l": 1.0}
    assert get_metric("rouge_l_ascii")(serbian, QuestionResult(serbian, [], Answer("Београд."))) == {
        "rouge_l_ascii": 0.0
    }
    with pytest.raises(KeyError, match="rouge_l"):
        get_metric("rouge-l")
