"""The metric catalogue: metrics people choose by name, e.g. ``ndcg@10`` or ``f1``.

A name is ``<metric>`` or ``<metric>@<k>`` for rank-cut metrics. Unknown names get
close-match suggestions. Register new metrics with :func:`register_metric`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from ragbench.errors import ConfigError, MetricError, RagbenchError, UnknownNameError, suggest
from ragbench.metrics import answer as _answer
from ragbench.metrics import retrieval as _retrieval
from ragbench.metrics import text as _text
from ragbench.types import QuestionResult, Sample

RankFn = Callable[[Sequence[str], Mapping[str, int], int], float]
AnswerFn = Callable[..., float]  # (prediction, golds) -> score; language-aware ones also take language=


@dataclass(frozen=True)
class RetrievalMetric:
    """A rank-cut retrieval metric over the question's ranked document ids and qrels."""

    base: str
    k: int
    fn: RankFn
    higher_is_better: bool = True

    @property
    def name(self) -> str:
        return f"{self.base}@{self.k}"

    def __call__(self, sample: Sample, result: QuestionResult) -> dict[str, float]:
        if not sample.relevant:
            return {}
        return {self.name: self.fn(result.ranked_doc_ids, sample.relevant, self.k)}


@dataclass(frozen=True)
class AnswerMetric:
    """An answer metric against the gold answers; skipped for failed answers and missing gold.

    With ``uses_language`` the function also gets ``language=``: the sample's language, else
    the language detected from its question (e.g. to drop the right articles in EM/F1).
    """

    name: str
    fn: AnswerFn
    higher_is_better: bool = True
    uses_language: bool = False

    def __call__(self, sample: Sample, result: QuestionResult) -> dict[str, float]:
        answer = result.answer
        if not sample.answers or answer is None or not answer.ok:
            return {}
        if self.uses_language:
            language = sample.language or result.detected_language
            return {self.name: self.fn(answer.text, sample.answers, language=language)}
        return {self.name: self.fn(answer.text, sample.answers)}


_REGISTRY: dict[str, Callable[..., object]] = {}
_RANK_CUT: set[str] = set()
_JUDGED: set[str] = set()


def register_metric(name: str, factory: Callable[..., object], *, rank_cut: bool = False, judged: bool = False) -> None:
    """Add a metric factory to the catalogue; duplicates are rejected.

    ``factory(k)`` builds the metric (``k`` is the rank cut-off or None); for ``judged``
    metrics it is ``factory(judge, embedder)``.
    """
    if name in _REGISTRY:
        raise RagbenchError(f"Metric {name!r} is already registered; choose another name.")
    _REGISTRY[name] = factory
    if rank_cut:
        _RANK_CUT.add(name)
    if judged:
        _JUDGED.add(name)


def _rank(base: str, fn: RankFn) -> None:
    register_metric(base, lambda k: RetrievalMetric(base, k, fn), rank_cut=True)


_rank("recall", _retrieval.recall_at_k)
_rank("precision", _retrieval.precision_at_k)
_rank("mrr", _retrieval.mrr_at_k)
_rank("ndcg", _retrieval.ndcg_at_k)
_rank("map", _retrieval.average_precision_at_k)
_rank("hit_rate", _retrieval.hit_rate_at_k)
register_metric("em", lambda _k: AnswerMetric("em", _answer.exact_match, uses_language=True))
register_metric("f1", lambda _k: AnswerMetric("f1", _answer.token_f1, uses_language=True))
register_metric("match", lambda _k: AnswerMetric("match", _answer.match, uses_language=True))
register_metric("rouge_l", lambda _k: AnswerMetric("rouge_l", _text.rouge_l))
register_metric("bleu", lambda _k: AnswerMetric("bleu", _text.bleu))
# The English references by name (ASCII-only tokenisation; comparable with published English figures).
register_metric("em_squad", lambda _k: AnswerMetric("em_squad", partial(_answer.exact_match, tokenizer="squad")))
register_metric("f1_squad", lambda _k: AnswerMetric("f1_squad", partial(_answer.token_f1, tokenizer="squad")))
register_metric("rouge_l_ascii", lambda _k: AnswerMetric("rouge_l_ascii", partial(_text.rouge_l, tokenizer="ascii")))
register_metric("bleu_13a", lambda _k: AnswerMetric("bleu_13a", partial(_text.bleu, tokenizer="13a")))
# Metric families that live in other packages register themselves when imported; a name that is
# not yet known loads them first (the judge's ragas metrics: faithfulness, answer_accuracy, ...).
METRIC_PLUGINS: tuple[str, ...] = ("ragbench.judge.metrics",)


def _load_plugins() -> None:
    import importlib

    for module in METRIC_PLUGINS:
        importlib.import_module(module)


def available_metrics() -> list[str]:
    """Names in the catalogue (rank-cut ones take ``@k``)."""
    _load_plugins()
    return sorted(f"{n}@k" if n in _RANK_CUT else n for n in _REGISTRY)


def get_metric(name: str, *, judge=None, embedder=None):
    """Build the metric called ``name`` (e.g. ``"ndcg@10"``); LLM-judge metrics need a ``judge``.

    Example:
        >>> get_metric("ndcg@10").name
        'ndcg@10'
    """
    base, _, cut = name.partition("@")
    if base not in _REGISTRY:
        _load_plugins()
    if base not in _REGISTRY:
        hint = suggest(name, [*(f"{n}@{cut or 10}" for n in _RANK_CUT), *_REGISTRY])
        raise UnknownNameError(f"Unknown metric {name!r}.{hint} Valid metrics: {', '.join(available_metrics())}.")
    if base in _RANK_CUT:
        if not cut.isdigit() or int(cut) < 1:
            raise ConfigError(f"Metric {name!r} needs a rank cut-off: write it as '{base}@10'.")
        return _REGISTRY[base](int(cut))
    if cut:
        raise ConfigError(f"Metric {base!r} takes no '@k' cut-off; got {name!r}.")
    if base in _JUDGED:
        if judge is None:
            raise ConfigError(
                f"Metric {name!r} is scored by an LLM judge, but none is configured. Use metrics=ragas "
                "(judge=vllm, judge.base_url=http://127.0.0.1:8000/v1) or pass judge=Judge(...) to MetricSuite."
            )
        return _REGISTRY[base](judge, embedder)
    return _REGISTRY[base](None)


class MetricSuite:
    """The metrics of a run, built from catalogue names.

    Example:
        >>> MetricSuite(["recall@10", "f1"]).names
        ['recall@10', 'f1']
    """

    def __init__(self, names: Sequence[str], *, judge=None, judge_embedder=None) -> None:
        if not names:
            raise ConfigError("MetricSuite needs at least one metric name, e.g. ['ndcg@10', 'f1'].")
        self.judge = judge
        self.metrics = [get_metric(n, judge=judge, embedder=judge_embedder) for n in names]
        self.names = [m.name for m in self.metrics]

    def __call__(self, sample: Sample, result: QuestionResult) -> dict[str, float]:
        return self.score_with_errors(sample, result)[0]

    def score_with_errors(self, sample: Sample, result: QuestionResult) -> tuple[dict[str, float], dict[str, str]]:
        """Values of every metric, plus ``{metric: reason}`` for metrics that failed on this item.

        A failed item is counted as failed, never scored as 0 and never averaged in.
        """
        out: dict[str, float] = {}
        errors: dict[str, str] = {}
        for metric in self.metrics:
            try:
                out.update(metric(sample, result))
            except MetricError as exc:
                errors[metric.name] = str(exc)
        return out, errors

    def __repr__(self) -> str:
        return f"MetricSuite({self.names!r})"
