"""Aggregates: means with CIs over valid items only, failures counted, p50/p95/p99 latency,
per-tenant and per-language breakdowns, and MLflow system metrics in a real run."""

import re

import numpy as np
import pytest

from ragbench.config import build
from ragbench.evaluation.evaluate import build_report
from ragbench.evaluation.report import format_report
from ragbench.evaluation.run import run_experiment
from ragbench.types import Answer, QuestionResult, Sample
from tests.conftest import require_shared


def _result(i, tenant, lang, f1=None, error=None):
    r = QuestionResult(
        Sample(f"q{i}", "?", tenant, answers=("a",), language=lang),
        [],
        Answer("a", completion_tokens=10),
        timings_ms={"total_ms": float(i), "generate_ms": 2.0},
    )
    if f1 is not None:
        r.metrics["f1"] = f1
    if error:
        r.metric_errors["f1"] = error
    return r


def test_breakdowns_failures_and_percentiles():
    rng = np.random.default_rng(0)
    results = [
        _result(i, "acme" if i % 2 else "globex", "hr" if i < 30 else "sr", f1=float(rng.random())) for i in range(50)
    ]
    results += [_result(50 + i, "acme", "sr", error="timeout: 60s") for i in range(3)]
    report = build_report(results, ["f1"])
    valid = [r.metrics["f1"] for r in results if "f1" in r.metrics]
    o = report.overall
    assert o["f1"] == pytest.approx(np.mean(valid)) and o["f1.n"] == 50 and o["f1.failed"] == 3
    assert o["f1.failure_rate"] == pytest.approx(3 / 53) and o["f1.ci_low"] < o["f1"] < o["f1.ci_high"]
    totals = [r.timings_ms["total_ms"] for r in results]
    for q in (50, 95, 99):
        assert o[f"latency.total_ms.p{q}"] == pytest.approx(np.percentile(totals, q))
    assert o["generate.tokens_per_s"] == pytest.approx(10 * 53 / (2.0 * 53 / 1000))
    assert set(report.per_language) == {"hr", "sr"} and set(report.per_tenant) == {"acme", "globex"}
    hr = [r.metrics["f1"] for r in results if r.sample.language == "hr"]
    assert report.per_language["hr"]["f1"] == pytest.approx(np.mean(hr))
    assert report.per_language["sr"]["f1.failed"] == 3
    flat = report.flat_metrics()
    assert flat["language.hr.f1"] == report.per_language["hr"]["f1"] and "tenant.globex.f1.ci_high" in flat
    assert report.failure_rates() == {"f1": pytest.approx(3 / 53)}
    assert "(3 failed)" in format_report(report)


def test_notebook_report_is_a_styled_frame_with_cis_and_failures_highlighted():
    from ragbench.evaluation.report import report_style

    results = [_result(i, "acme" if i % 2 else "globex", "en", f1=i / 10) for i in range(8)]
    results += [_result(8, "acme", "en", error="judge timeout")]
    report = build_report(results, ["f1"])
    styler = report_style(report)
    frame = styler.data
    assert list(frame.index) == ["acme", "globex", "ALL"] and frame.index.name == "tenant / language"
    o = report.overall
    assert frame.loc["ALL", "f1"] == f"{o['f1']:.4f} [{o['f1.ci_low']:.3f},{o['f1.ci_high']:.3f}] (1 failed)"
    html = styler.to_html()
    assert 'class="rb-report"' in html and "<caption>Evaluation: means with 95% CIs</caption>" in html
    [selectors] = re.findall(r"}?\s*([^{}]*)\{\s*background-color: #fde2e1", html)  # one CSS rule for all
    cells = sorted(re.findall(r"_row(\d+)_col(\d+)", selectors))
    assert cells == [("0", "2"), ("2", "2")]  # acme's and ALL's f1 (column 2), which carry the failed item


def test_detected_language_fills_the_breakdown_when_the_dataset_has_none():
    results = [_result(i, "acme", None, f1=0.5) for i in range(4)] + [_result(4, "acme", "sr", f1=1.0)]
    for r, lang in zip(results, ["hr", "hr", "en", None, "hr"], strict=True):
        r.detected_language = lang  # the last one's dataset language (sr) wins over the detected one
    report = build_report(results, ["f1"])
    assert {k: v["questions"] for k, v in report.per_language.items()} == {"en": 1, "hr": 2, "sr": 1}
    table = format_report(report)
    assert "language hr" in table and "language sr" in table and "language en" in table
    assert "language" not in format_report(build_report(results[:2], ["f1"])).split("\n", 2)[2]  # one language: no rows
    from ragbench.evaluation.checkpoint import result_from_json, result_to_json

    assert result_from_json(result_to_json(results[0])).detected_language == "hr"
    assert results[0].to_row()["detected_language"] == "hr" and results[0].to_row()["language"] is None


def test_evaluation_detects_each_questions_language(tmp_path):
    """A real BM25 run over Croatian and English documents of one tenant: no language in the dataset,
    each question's language detected, recorded and used for the breakdown and for EM's articles."""
    from ragbench.data.dataset import Dataset
    from ragbench.evaluation.evaluate import evaluate
    from ragbench.generators.extractive import ExtractiveGenerator
    from ragbench.metrics import MetricSuite
    from ragbench.pipelines.rag import RAGPipeline
    from ragbench.retrievers.bm25 import BM25Retriever
    from ragbench.stores.lancedb import LanceDBStore
    from ragbench.types import Chunk

    store = LanceDBStore(tmp_path / "db")
    texts = [
        "Lozinke se mijenjaju svakih 120 dana.",
        "Passwords are changed every 90 days.",
        "Plaća se isplaćuje 10. u mjesecu.",
        "Salaries are paid on the 25th.",
    ]
    store.upsert("t", [Chunk(f"d{i}#0", f"d{i}", "t", text) for i, text in enumerate(texts)])
    samples = [
        Sample("q1", "Koliko se često mijenjaju lozinke?", "t", answers=("svakih 120 dana",), relevant={"d0": 1}),
        Sample("q2", "How often are passwords changed?", "t", answers=("every 90 days",), relevant={"d1": 1}),
        Sample("q3", "Kada se isplaćuje plaća?", "t", answers=("10. u mjesecu",), relevant={"d2": 1}),
        Sample("q4", "Plaća?", "t", answers=("10",), relevant={"d2": 1}),
    ]
    names = ["ndcg@10", "em", "match"]
    report = evaluate(
        Dataset("mixed", [], samples),
        RAGPipeline(BM25Retriever(store), ExtractiveGenerator(), k=2),
        MetricSuite(names),
        metric_names=names,
    )
    assert [r.detected_language for r in report.results] == ["hr", "en", "hr", None]  # q4: under 3 words
    assert {k: v["questions"] for k, v in report.per_language.items()} == {"en": 1, "hr": 2}
    assert report.overall["questions"] == 4 and report.per_language["hr"]["match"] == 1.0


@pytest.mark.integration
def test_real_run_logs_cis_breakdowns_and_system_metrics(compose_cfg):
    require_shared("hotpotqa_sample100")
    parts = build(
        compose_cfg(
            "dataset=hotpotqa_original",
            "retriever=bm25",
            "max_queries=60",
            "system_metrics=true",
            "metrics.names=[ndcg@10,map@10,hit_rate@10,precision@5,rouge_l]",
        )
    )
    result = run_experiment(parts)
    o = result.report.overall
    assert o["ndcg@10.ci_low"] < o["ndcg@10"] < o["ndcg@10.ci_high"]
    assert result.report.per_language["en"]["ndcg@10"] == pytest.approx(o["ndcg@10"])
    from mlflow.tracking import MlflowClient

    metrics = MlflowClient(parts.tracker.tracking_uri).get_run(result.run_id).data.metrics
    assert {
        "retrieval/ndcg_at_10/ci_low",
        "latency/p99_ms",
        "language/en/ndcg_at_10",
        "tenant/hotpotqa/map_at_10",
    } <= set(metrics)
    assert any(k.startswith("system/cpu_utilization") for k in metrics), sorted(metrics)[:20]


def test_retrieval_metrics_equal_ir_measures_on_shared_hotpotqa(compose_cfg):
    """MAP, precision, hit rate (Success) and nDCG per query equal ir-measures on a real BM25 run."""
    import ir_measures
    from ir_measures import AP, P, Success, nDCG

    require_shared("hotpotqa_sample100")
    parts = build(
        compose_cfg(
            "dataset=hotpotqa",
            "retriever=bm25",
            "tracking=none",
            "metrics.names=[ndcg@10,map@10,hit_rate@10,precision@5,recall@10]",
        )
    )
    results = run_experiment(parts).report.results
    qrels = [ir_measures.Qrel(r.sample.id, d, g) for r in results for d, g in r.sample.relevant.items()]
    run = [
        ir_measures.ScoredDoc(r.sample.id, d, float(100 - i)) for r in results for i, d in enumerate(r.ranked_doc_ids)
    ]
    names = {nDCG @ 10: "ndcg@10", AP @ 10: "map@10", Success @ 10: "hit_rate@10", P @ 5: "precision@5"}
    ref = {(m.query_id, names[m.measure]): m.value for m in ir_measures.iter_calc(list(names), qrels, run)}
    for r in results:
        for name in names.values():
            assert r.metrics[name] == pytest.approx(ref[(r.sample.id, name)], abs=1e-9), (r.sample.id, name)
