"""BM25 nDCG@10 on Croatian and Serbian: English stemming for every tenant vs. the per-language rule.

The two full-text analyses of ``ragbench.stores.text_analysis``, on the same ingested chunks:

* ``en``: ``LanceDBStore(text_analysis="en")``, English stemmer and stop words for every tenant
  (what ragbench did before per-tenant analysis);
* ``auto``: each tenant read by its languages (detected at ingestion). Croatian and Serbian have no
  LanceDB stemmer, so: no stemming, no stop words, lower case and ASCII folding.

Data: EXAMS hr and sr dev (``shared/data/exams_south_slavic/with_paragraphs``). As in
``tests/ingestion/test_exams_languages.py``, every choice's paragraph is a document and the
correct choice's paragraph is the relevant one for the question stem (a proxy: EXAMS has no
relevance labels). Setups:

* ``test``: the first 30 questions of each file in one tenant (the test's setup; its figures
  were hr 0.668 and sr 0.591 with English stemming);
* ``full``: every question, one tenant per file (538 hr questions / 2,093 paragraphs, 314 sr
  questions / 1,228 paragraphs);
* ``demo``: the Croatian demo tenant (datasets/demo/lastavica-logistika, 20 questions).

Per language: both means, the paired difference (auto - en) with its 95 % bootstrap interval
and the two-sided paired permutation p-value (``ragbench.evaluation.stats.paired_comparison``).

    python bench/bench_text_analysis.py [--out results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ragbench.data.chunking import WholeDocumentChunker
from ragbench.data.dataset import Dataset
from ragbench.evaluation.evaluate import evaluate
from ragbench.evaluation.stats import paired_comparison
from ragbench.generators.extractive import ExtractiveGenerator
from ragbench.ingestion.datasets import index_documents
from ragbench.ingestion.ingest import ingest_items
from ragbench.ingestion.jobs import get_job
from ragbench.ingestion.loaders import iter_jsonl
from ragbench.metrics import MetricSuite
from ragbench.paths import project_root, shared_data_dir
from ragbench.pipelines.rag import RAGPipeline
from ragbench.retrievers.bm25 import BM25Retriever
from ragbench.stores.lancedb import LanceDBStore
from ragbench.types import Sample

FILES = {"hr": "dev_hr_with_para.jsonl", "sr": "dev_sr_with_para.jsonl"}
METRIC = "ndcg@10"


def exams_questions(lang: str, limit: int | None) -> list[dict]:
    path = shared_data_dir() / "exams_south_slavic" / "with_paragraphs" / FILES[lang]
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return rows[:limit] if limit else rows


def ingest_exams(store: LanceDBStore, tenant: str, questions: list[dict], language: str | None = None) -> list[Sample]:
    """Ingest every choice paragraph as a job (languages detected); one sample per question stem, in
    ``language`` (``None``: the question's detected language, as the test groups them)."""
    lines = [
        json.dumps({"id": f"{q['id']}/{c['label']}", "title": c["text"], "text": c["para"]}, ensure_ascii=False)
        for q in questions
        for c in q["question"]["choices"]
        if c.get("para")
    ]
    job = ingest_items(
        iter_jsonl(io.StringIO("\n".join(lines)), source="exams"),
        tenant=tenant,
        store=store,
        embedder=None,
        chunker=WholeDocumentChunker(),
        total=len(lines),
    )
    docs = {d.key.split("#", 1)[1]: d.doc_id for d in get_job(store, tenant, job.job_id).documents}
    return [
        Sample(id=q["id"], question=q["question"]["stem"], tenant=tenant, relevant={docs[key]: 1}, language=language)
        for q in questions
        if (key := f"{q['id']}/{q['answerKey']}") in docs
    ]


def per_question(uri: Path, analysis: str, samples: list[Sample]) -> dict[str, list[float]]:
    """nDCG@10 per question, grouped by question language, with the store read as ``analysis``."""
    store = LanceDBStore(uri, text_analysis=analysis)  # a stale index is rebuilt with this analysis
    pipeline = RAGPipeline(BM25Retriever(store), ExtractiveGenerator(), k=10)
    report = evaluate(Dataset("bench", [], samples), pipeline, MetricSuite([METRIC]), metric_names=[METRIC])
    out: dict[str, list[float]] = {}
    for r in report.results:
        out.setdefault(r.language or "unknown", []).append(r.metrics[METRIC])
    return out


def compare(uri: Path, samples: list[Sample]) -> dict:
    en, auto = per_question(uri, "en", samples), per_question(uri, "auto", samples)
    rows = {}
    for lang in sorted(en):
        p = paired_comparison(METRIC, en[lang], auto[lang])
        rows[lang] = {
            "n": p.n,
            "english_stemming": p.mean_a,
            "per_language": p.mean_b,
            "delta": p.delta,
            "ci": [p.low, p.high],
            "p_value": p.p_value,
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="Write the figures as JSON here too.")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        uri = Path(tmp) / "test"
        store = LanceDBStore(uri)
        samples = [s for lang in FILES for s in ingest_exams(store, "exams", exams_questions(lang, 30))]
        results["test"] = compare(uri, samples)
        for lang in FILES:
            uri = Path(tmp) / f"full-{lang}"
            samples = ingest_exams(LanceDBStore(uri), f"exams-{lang}", exams_questions(lang, None), language=lang)
            results[f"full-{lang}"] = compare(uri, samples)
        from ragbench.data import load_tenant_folders

        demo = load_tenant_folders(project_root() / "datasets" / "demo")
        uri = Path(tmp) / "demo"
        index_documents(
            demo.documents_of("lastavica-logistika"),
            tenant="lastavica-logistika",
            store=LanceDBStore(uri),
            embedder=None,
            chunker=WholeDocumentChunker(),
        )
        results["demo"] = compare(uri, [s for s in demo.samples if s.tenant == "lastavica-logistika"])
        results["seconds"] = time.perf_counter() - start
    for setup, rows in results.items():
        if setup == "seconds":
            continue
        for lang, r in rows.items():
            print(
                f"{setup:8s} {lang:7s} n={r['n']:4d}  English stemming {r['english_stemming']:.4f}  per-language "
                f"{r['per_language']:.4f}  delta {r['delta']:+.4f} [{r['ci'][0]:+.4f}, {r['ci'][1]:+.4f}]  "
                f"p={r['p_value']:.3g}"
            )
    print(f"{results['seconds']:.0f} s")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
