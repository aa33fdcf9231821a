"""EM/F1 against the official SQuAD v1.1 evaluation functions (reproduced below as the reference)."""

import re
import string
from collections import Counter

import pytest

from ragbench.metrics import exact_match, normalize_answer, token_f1


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
]


@pytest.mark.parametrize("prediction,golds", CASES)
def test_matches_official_squad(prediction, golds):
    assert exact_match(prediction, golds) == float(_ref_max(_ref_em, prediction, golds))
    assert token_f1(prediction, golds) == pytest.approx(_ref_max(_ref_f1, prediction, golds), abs=1e-12)


def test_exact_values():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert exact_match("the Eiffel tower.", ["Eiffel Tower"]) == 1.0
    assert token_f1("25 days of leave", ["25 days"]) == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert token_f1("nothing here", ["25 days"]) == 0.0
