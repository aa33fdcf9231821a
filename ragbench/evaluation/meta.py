"""Meta-evaluation: does an answer metric prefer what people prefer?

RAGChecker's human-labelled pairs (``shared/data/ragchecker_examples/meta_evaluation``) hold 280
questions, each with two systems' answers, a long-form gold answer and two annotators' pairwise
preferences in -2..2 (positive: the second answer is better). As RAGChecker's ``meta_eval.py``
does, a metric's preference is ``score(answer 2) - score(answer 1)`` and is correlated with each
human label; here with Spearman's rho and Kendall's tau-b, and with 95% bootstrap intervals that
resample whole questions (both annotators' labels of a question stay together).

A failed judge call is never scored: its pair is left out of the correlation and counted.

Example:
    >>> pairs = load_human_pairs("shared/data/ragchecker_examples/meta_evaluation/human_labeled_data.json")  # doctest: +SKIP
    >>> agreement("token_f1", pairs, {p.key: (f1(p.answer1, p.gold), f1(p.answer2, p.gold)) for p in pairs})  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragbench.errors import DatasetError

LABELS = ("correctness_label", "completeness_label", "overall_label")


@dataclass(frozen=True)
class HumanPair:
    """One question with two answers and every annotator's labels (one list entry per annotator)."""

    key: int
    dataset: str
    question: str
    gold: str
    answer1: str
    answer2: str
    labels: dict[str, tuple[int, ...]]


def load_human_pairs(path: str | Path) -> list[HumanPair]:
    """Group RAGChecker's records (one per annotator) into one :class:`HumanPair` per instance."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"Cannot read the human-labelled pairs at {path}: {exc}. Point to "
            "shared/data/ragchecker_examples/meta_evaluation/human_labeled_data.json."
        ) from exc
    grouped: dict[int, list[dict]] = {}
    for i, r in enumerate(records):
        try:
            grouped.setdefault(int(r["instance_id"]), []).append(r)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{path} record {i} has no usable instance_id ({exc}).") from exc
    pairs = []
    for key, rows in sorted(grouped.items()):
        first = rows[0]
        pairs.append(
            HumanPair(
                key=key,
                dataset=first["dataset"],
                question=first["query"],
                gold=first["gt_answer"],
                answer1=first["model1"]["response"],
                answer2=first["model2"]["response"],
                labels={name: tuple(int(r[name]) for r in rows) for name in LABELS},
            )
        )
    return pairs


@dataclass(frozen=True)
class Agreement:
    """Correlation of a metric's preference with one human label."""

    metric: str
    label: str
    n_pairs: int  # questions scored on both answers
    n_labels: int  # (question, annotator) labels correlated
    failed: int  # questions left out because scoring failed
    spearman: float
    spearman_low: float
    spearman_high: float
    kendall: float
    kendall_low: float
    kendall_high: float


def _correlations(diffs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from scipy.stats import kendalltau, spearmanr

    if np.all(diffs == diffs[0]) or np.all(labels == labels[0]):
        return 0.0, 0.0  # a constant preference ranks nothing: no agreement
    return float(spearmanr(diffs, labels).statistic), float(kendalltau(diffs, labels).statistic)


def agreement(
    metric: str,
    pairs: Sequence[HumanPair],
    scores: Mapping[int, tuple[float, float] | None],
    *,
    label: str = "correctness_label",
    n_resamples: int = 2000,
    seed: int = 0,
) -> Agreement:
    """Spearman and Kendall of ``score2 - score1`` against ``label``, with question-level bootstrap CIs.

    ``scores[pair.key]`` is ``(score of answer 1, score of answer 2)``, or ``None``/absent when scoring failed.
    """
    if label not in LABELS:
        raise DatasetError(f"Unknown label {label!r}; valid: {', '.join(LABELS)}.")
    kept = [(p, scores[p.key]) for p in pairs if scores.get(p.key) is not None]
    failed = len(pairs) - len(kept)
    groups = [(s2 - s1, p.labels[label]) for p, (s1, s2) in kept]
    diffs = np.array([d for d, labs in groups for _ in labs], dtype=float)
    labels = np.array([lab for _, labs in groups for lab in labs], dtype=float)
    nan = float("nan")
    if len(groups) < 3:
        return Agreement(metric, label, len(groups), len(labels), failed, nan, nan, nan, nan, nan, nan)
    rho, tau = _correlations(diffs, labels)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_resamples):
        picks = rng.integers(0, len(groups), len(groups))
        d = np.array([groups[i][0] for i in picks for _ in groups[i][1]], dtype=float)
        lab = np.array([x for i in picks for x in groups[i][1]], dtype=float)
        boot.append(_correlations(d, lab))
    arr = np.array(boot)
    (rho_low, tau_low), (rho_high, tau_high) = np.percentile(arr, 2.5, axis=0), np.percentile(arr, 97.5, axis=0)
    return Agreement(
        metric,
        label,
        len(groups),
        len(labels),
        failed,
        rho,
        float(rho_low),
        float(rho_high),
        tau,
        float(tau_low),
        float(tau_high),
    )


def score_pairs(pairs: Sequence[HumanPair], fn: Callable[[str, str, str], float]) -> dict[int, tuple[float, float]]:
    """``{key: (fn(question, answer1, gold), fn(question, answer2, gold))}`` for a metric that cannot fail."""
    return {p.key: (fn(p.question, p.answer1, p.gold), fn(p.question, p.answer2, p.gold)) for p in pairs}


def markdown(rows: Sequence[Agreement]) -> str:
    """The agreement table as Markdown (one row per metric and label)."""
    head = "| metric | human label | pairs | labels | failed | Spearman ρ [95% CI] | Kendall τ [95% CI] |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for a in rows:
        lines.append(
            f"| {a.metric} | {a.label.removesuffix('_label')} | {a.n_pairs} | {a.n_labels} | {a.failed} | "
            f"{a.spearman:.3f} [{a.spearman_low:.3f}, {a.spearman_high:.3f}] | "
            f"{a.kendall:.3f} [{a.kendall_low:.3f}, {a.kendall_high:.3f}] |"
        )
    return "\n".join(lines)
