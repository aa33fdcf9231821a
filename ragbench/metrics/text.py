"""Overlap metrics for generated answers: ROUGE-L (as ``rouge_score``) and sentence BLEU (as ``sacrebleu``).

Both are re-implemented in plain Python so scoring needs no heavy import; the tests
check them against ``rouge_score.rouge_scorer`` and ``sacrebleu.sentence_bleu``.
Values are in [0, 1] (sacrebleu reports BLEU in [0, 100]; divide by 100 to compare).

Tokenisation: ``tokenizer="unicode"`` (the default) reads every script
(:func:`ragbench.metrics.tokens.word_tokens`: NFKC, case folding, letters, marks and digits).
The English references stay available by name: ``rouge_l(..., tokenizer="ascii")`` is
``rouge_score``'s default tokenizer (lower-case ASCII letters and digits only: "Београд"
has no token at all) and ``bleu(..., tokenizer="13a")`` is sacrebleu's default (case kept).
On ASCII text ``"unicode"`` and ``"ascii"`` give the same tokens.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

from ragbench.errors import ConfigError, suggest
from ragbench.metrics.tokens import word_tokens

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_BLEU_RULES = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period/comma unless preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period/comma unless followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
)


def rouge_tokens(text: str) -> list[str]:
    """``rouge_score``'s default tokenizer: lower-case ASCII letters and digits only.

    Example:
        >>> rouge_tokens("The Eiffel-Tower, 1889!")
        ['the', 'eiffel', 'tower', '1889']
    """
    return _NON_ALNUM.sub(" ", text.lower()).split()


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def _tokenizer(name: str, named: dict[str, Callable[[str], list[str]]]) -> Callable[[str], list[str]]:
    if name not in named:
        raise ConfigError(f"Unknown tokenizer {name!r}.{suggest(name, named)} Valid: {', '.join(named)}.")
    return named[name]


def _rouge_l(pred: list[str], ref: list[str]) -> float:
    if not pred or not ref:
        return 0.0
    lcs = _lcs(ref, pred)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, golds: Sequence[str], *, tokenizer: str = "unicode") -> float:
    """Best ROUGE-L F-measure of the prediction against any gold answer.

    Args:
        prediction: The generated answer.
        golds: Gold answers.
        tokenizer: ``"unicode"`` (any script) or ``"ascii"`` (``rouge_score``'s English-only default).

    Example:
        >>> round(rouge_l("the cat sat on the mat", ["a cat sat on a mat"]), 4)
        0.6667
        >>> rouge_l("Београд", ["Београд"]), rouge_l("Београд", ["Београд"], tokenizer="ascii")
        (1.0, 0.0)
    """
    tokens = _tokenizer(tokenizer, {"unicode": word_tokens, "ascii": rouge_tokens})
    pred = tokens(prediction)
    return max((_rouge_l(pred, tokens(g)) for g in golds), default=0.0)


def bleu_tokens(text: str) -> list[str]:
    """sacrebleu's ``13a`` tokenizer (mteval-v13a), case kept.

    Example:
        >>> bleu_tokens("It costs $3.50, right?")
        ['It', 'costs', '$', '3.50', ',', 'right', '?']
    """
    line = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, repl in _BLEU_RULES:
        line = pattern.sub(repl, line)
    return line.split()


def _ngrams(tokens: Sequence[str], max_order: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for n in range(1, max_order + 1) for i in range(len(tokens) - n + 1))


def _closest_ref_len(hyp_len: int, ref_lens: Sequence[int]) -> int:
    return min(ref_lens, key=lambda r: (abs(r - hyp_len), r))


def bleu(prediction: str, golds: Sequence[str], *, max_order: int = 4, tokenizer: str = "unicode") -> float:
    """Sentence BLEU in [0, 1]: sacrebleu's smoothing (``exp``) and effective order.

    Several gold answers act as multiple references (clipped counts, closest length).

    Args:
        prediction: The generated answer.
        golds: Gold answers.
        max_order: Longest n-gram.
        tokenizer: ``"unicode"`` (any script, case-folded) or ``"13a"`` (sacrebleu's default: exactly
            ``sacrebleu.sentence_bleu``).

    Example:
        >>> round(bleu("the cat is on the mat", ["the cat is on the mat"]), 6)
        1.0
        >>> round(bleu("Grad Čakovec", ["grad čakovec"]), 6), bleu("Grad Čakovec", ["grad čakovec"], tokenizer="13a")
        (1.0, 0.0)
    """
    if not golds:
        return 0.0
    tokenize = _tokenizer(tokenizer, {"unicode": word_tokens, "13a": bleu_tokens})
    hyp = tokenize(prediction)
    ref_counts: Counter = Counter()
    ref_lens = []
    for gold in golds:
        tokens = tokenize(gold)
        ref_lens.append(len(tokens))
        for gram, count in _ngrams(tokens, max_order).items():
            ref_counts[gram] = max(ref_counts[gram], count)
    correct, total = [0] * max_order, [0] * max_order
    for gram, count in _ngrams(hyp, max_order).items():
        total[len(gram) - 1] += count
        correct[len(gram) - 1] += min(count, ref_counts.get(gram, 0))
    return _bleu_from_stats(correct, total, len(hyp), _closest_ref_len(len(hyp), ref_lens))


def _bleu_from_stats(correct: list[int], total: list[int], sys_len: int, ref_len: int) -> float:
    if not any(correct):
        return 0.0
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    log_sum, order, smooth = 0.0, 0, 1.0
    for n in range(len(total)):
        if total[n] == 0:
            break
        order = n + 1
        if correct[n] == 0:
            smooth *= 2
            log_sum += math.log(100.0 / (smooth * total[n]))
        else:
            log_sum += math.log(100.0 * correct[n] / total[n])
    return bp * math.exp(log_sum / order) / 100.0
