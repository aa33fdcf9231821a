"""EM/F1 against the official SQuAD v1.1 evaluation functions (reproduced below as the reference), and the
default normalisation on every script (Croatian, Serbian Cyrillic and Latin, Hindi, Chinese)."""

import re
import string
from collections import Counter

import pytest

from ragbench.metrics import exact_match, get_metric, normalize_answer, token_f1
from ragbench.metrics.answer import match
from ragbench.types import Answer, QuestionResult, Sample


# --- reference: functions of the official SQuAD v1.1 evaluate script (evaluate-v1.1.py) ---
def _ref_normalize(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def _ref_f1(prediction, ground_truth):
    prediction_tokens = _ref_normalize(prediction).split()
    ground_truth_tokens = _ref_normalize(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def _ref_em(prediction, ground_truth):
    return _ref_normalize(prediction) == _ref_normalize(ground_truth)


def _ref_max(fn, prediction, ground_truths):
    return max(fn(prediction, gt) for gt in ground_truths)


CASES = [
    ("The Eiffel Tower", ["eiffel tower"]),
    ("25 days of paid leave", ["25 days", "twenty-five days"]),
    ("an apple a day", ["The apple"]),
    ("Paris, France.", ["Paris"]),
    ("", ["something"]),
    ("the the the", ["the"]),
    ("New York City", ["new york", "NYC"]),
    ("1,000", ["1000"]),
    ("$3.50 + tax | ~5%", ["3.50 tax"]),
]


@pytest.mark.parametrize("prediction,golds", CASES)
def test_matches_official_squad(prediction, golds):
    """tokenizer="squad" is SQuAD v1.1; the default equals it on ASCII text."""
    for tokenizer in ("squad", "unicode"):
        assert exact_match(prediction, golds, tokenizer=tokenizer) == float(_ref_max(_ref_em, prediction, golds))
        assert token_f1(prediction, golds, tokenizer=tokenizer) == pytest.approx(
            _ref_max(_ref_f1, prediction, golds), abs=1e-12
        )


SCRIPTS = [  # (prediction, gold, language, EM, F1); match is 1 for all but the last
    ("„Čakovec”", "Čakovec", "hr", 1.0, 1.0),  # Croatian quotes are punctuation too
    ("Osnovala ju je Nevenka Šimić.", "Nevenka Šimić", "hr", 0.0, 2 * 0.4 / 1.4),
    ("A onda Zagreb", "onda Zagreb", "hr", 0.0, 0.8),  # "a" is Croatian "and": kept for hr
    ("A onda Zagreb", "onda Zagreb", None, 1.0, 1.0),  # ...and dropped as an article by SQuAD's English rule
    ("Београд!", "београд", "sr", 1.0, 1.0),
    ("Главни град је Београд", "Београд", "sr", 0.0, 0.4),
    ("Glavni grad je Beograd", "Beograd", "sr", 0.0, 0.4),
    ("नई दिल्ली।", "नई दिल्ली", "hi", 1.0, 1.0),  # the danda is punctuation; vowel signs stay in words
    ("首都是北京。", "北京", "zh", 0.0, 2 * 0.4 / 1.4),  # one token per Han character
    ("ＳＴＲＡＳＳＥ", "straße", "de", 1.0, 1.0),  # NFKC + case folding
    ("Ćakovec", "Čakovec", "hr", 0.0, 0.0),  # different letters, different towns
]


@pytest.mark.parametrize("prediction,gold,language,em,f1", SCRIPTS)
def test_every_script(prediction, gold, language, em, f1):
    assert exact_match(prediction, [gold], language=language) == em
    assert token_f1(prediction, [gold], language=language) == pytest.approx(f1)
    assert match(prediction, [gold], language=language) == float(f1 > 0)


def test_squad_normalisation_loses_other_scripts():
    assert normalize_answer("„Čakovec”", tokenizer="squad") == "„čakovec”"  # so EM against "Čakovec" is 0
    assert exact_match("„Čakovec”", ["Čakovec"], tokenizer="squad") == 0.0
    assert exact_match("नई दिल्ली।", ["नई दिल्ली"], tokenizer="squad") == 0.0


def test_match_reads_every_script():
    assert match("Zaposlenici imaju 24 dana godišnjeg odmora.", ["24 dana"], language="hr") == 1.0
    assert match("Osnivači su «Nevenka Šimić» i Dario Žužić.", ["Nevenka Šimić"], language="hr") == 1.0
    assert match("Главни град је Београд.", ["Београд"], language="sr") == 1.0
    assert match("Главни град је Нови Сад.", ["Београд"], language="sr") == 0.0


def test_registry_metrics_use_the_questions_language():
    """em/f1/match drop the articles of the dataset's language, else of the detected one; *_squad stay English."""
    sample = Sample("q", "Što je rekao?", "t", answers=("onda Zagreb",))
    result = QuestionResult(sample, [], Answer("A onda Zagreb"), detected_language="hr")
    assert get_metric("em")(sample, result) == {"em": 0.0}  # Croatian "a" (and) is a word
    assert get_metric("em_squad")(sample, result) == {"em_squad": 1.0}
    assert get_metric("em")(sample, QuestionResult(sample, [], Answer("A onda Zagreb"))) == {
        "em": 1.0
    }  # unknown: English rule
    english = Sample("q", "What then?", "t", answers=("then Zagreb",), language="en")
    assert get_metric("f1")(english, QuestionResult(english, [], Answer("A then Zagreb"), detected_language="hr")) == {
        "f1": 1.0
    }
    with pytest.raises(Exception, match="Unknown answer tokenizer 'sqad'.*Did you mean: 'squad'"):
        normalize_answer("x", tokenizer="sqad")


def test_exact_values():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("The  Eiffel Tower!", tokenizer="squad") == "eiffel tower"
    assert exact_match("the Eiffel tower.", ["Eiffel Tower"]) == 1.0
    assert token_f1("25 days of leave", ["25 days"]) == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert token_f1("nothing here", ["25 days"]) == 0.0
