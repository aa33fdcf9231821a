"""MLflow traces: one per API query (spans, tags, token counts), sampled ones per evaluation run (linked to
the run), and a rerank span for a reranking retriever. Read back from the sqlite store with MlflowClient."""

from __future__ import annotations

import time

import pytest

from tests.support.service import call

pytestmark = [pytest.mark.integration]


def _client(home):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    return client, client.get_experiment_by_name("ragbench").experiment_id


def _wait_for(search, n: int, timeout: float = 300, spans: int = 3):
    deadline = time.time() + timeout
    while time.time() < deadline:  # traces are exported asynchronously
        found = search()
        if len(found) >= n and all(len(t.data.spans) >= spans for t in found):
            return found
        time.sleep(1)
    raise AssertionError(f"expected {n} traces, found {len(search())}")


def test_each_api_query_is_a_trace_with_stage_spans_tags_and_tokens(api, keys, service_home):
    resp = call(
        api,
        "POST",
        "/v1/query",
        key=keys["harbor"],
        headers={"X-Request-ID": "trace-me-1"},
        json={"tenant": "harbor-health", "question": "How do I request my medical records?", "k": 3},
    )
    body = resp.json()
    client, exp = _client(service_home)
    [trace] = _wait_for(
        lambda: client.search_traces(locations=[exp], filter_string="tags.request_id = 'trace-me-1'"), 1
    )
    tags = trace.info.tags
    assert (tags["tenant"], tags["principal"], tags["ragbench.source"]) == (
        "harbor-health",
        "key:harbor-app",
        "service",
    )
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"query", "retrieve", "generate"}
    assert spans["retrieve"].span_type == "RETRIEVER" and spans["generate"].span_type == "LLM"
    assert [d["metadata"]["doc_id"] for d in spans["retrieve"].outputs] == [s["doc_id"] for s in body["sources"]]
    usage = spans["generate"].attributes["mlflow.chat.tokenUsage"]
    assert usage["output_tokens"] == len(body["answer"].split())  # the extractive baseline counts words
    assert spans["generate"].attributes["mlflow.llm.model"] == "ExtractiveGenerator"
    assert spans["query"].inputs["question"] == "How do I request my medical records?"
    assert spans["query"].outputs["answer"] == body["answer"]


def test_a_sampled_share_of_an_evaluation_run_is_traced_and_linked_to_the_run(tmp_path):
    from ragbench.config import build, compose
    from ragbench.evaluation.run import run_experiment
    from ragbench.tracking.traces import is_sampled

    home = tmp_path / "home"
    parts = build(
        compose(
            [
                f"home={home}",
                "progress=false",
                "generator=extractive",
                "retriever=bm25",
                "max_queries=12",
                "trace_sample=0.5",
            ]
        )
    )
    result = run_experiment(parts)
    expected = sorted(s.id for s in parts.dataset.samples if is_sampled(s.id, 0.5))
    assert 0 < len(expected) < 12
    client, exp = _client(home)
    traces = _wait_for(
        lambda: client.search_traces(locations=[exp], filter_string=f"metadata.`mlflow.sourceRun` = '{result.run_id}'"),
        len(expected),
    )
    assert sorted(t.info.tags["request_id"] for t in traces) == expected
    assert {t.info.tags["ragbench.source"] for t in traces} == {"evaluation"}
    assert all({s.name for s in t.data.spans} == {"query", "retrieve", "generate"} for t in traces)


def test_a_reranking_retriever_gets_a_retrieve_and_a_rerank_span(tmp_path, tiny_reranker):
    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset
    from ragbench.rerankers import FlagEmbeddingReranker, RerankingRetriever
    from ragbench.tracking.traces import Tracer, traced_retrieve
    from ragbench.types import Query

    home = tmp_path / "home"
    parts = build(compose([f"home={home}", "progress=false", "generator=extractive", "retriever=bm25"]))
    ingest_dataset(parts)
    retriever = RerankingRetriever(parts.retriever, FlagEmbeddingReranker(tiny_reranker), candidates=6)
    tracer = Tracer.from_tracker(parts.tracker, sample=1.0, source="service")
    trace = tracer.start("query", key="rerank-1", inputs={"q": "vacation"}, tags={"request_id": "rerank-1"})
    [hits] = traced_retrieve(retriever, [Query("How many vacation days?", "acme-robotics")], 3, trace)
    trace.end(outputs={"hits": len(hits)})
    tracer.flush()
    client, exp = _client(home)
    [found] = client.search_traces(locations=[exp], filter_string="tags.request_id = 'rerank-1'")
    spans = {s.name: s for s in found.data.spans}
    assert set(spans) == {"query", "retrieve", "rerank"} and spans["rerank"].span_type == "RERANKER"
    assert spans["retrieve"].inputs["k"] == 6 and spans["retrieve"].outputs == {"candidates": [6]}
    assert [d["id"] for d in spans["rerank"].outputs] == [h.chunk_id for h in hits] and len(hits) == 3


def test_a_traced_evaluation_passes_a_methods_own_prompt_to_the_generator(tmp_path):
    """method=closed_book (and adaptive's draft) answer with their own prompt; the traced generator dropped the
    ``prompt=`` argument and the whole run died with a TypeError once trace_sample picked a question."""
    from ragbench.config import build, compose
    from ragbench.evaluation.run import run_experiment
    from ragbench.generators import ExtractiveGenerator

    asked: list = []

    class Recording(ExtractiveGenerator):
        def generate(self, queries, contexts, *, prompt=None):
            asked.append(prompt)
            return super().generate(queries, contexts, prompt=prompt)

    home = tmp_path / "home"
    overrides = [f"home={home}", "progress=false", "generator=extractive", "retriever=bm25", "max_queries=3"]
    parts = build(compose([*overrides, "method=closed_book", "trace_sample=1.0"]))
    parts.method.generator = Recording()
    result = run_experiment(parts)
    assert len(asked) == 3 and all(
        p is not None and "Short answer:" in p.user_template for p in asked
    )  # the closed-book template, each time
    assert result.report.overall["questions"] == 3 and result.report.overall.get("answers.failed", 0) == 0
    client, exp = _client(home)
    traces = _wait_for(
        lambda: client.search_traces(locations=[exp], filter_string=f"metadata.`mlflow.sourceRun` = '{result.run_id}'"),
        3,
        spans=2,
    )
    assert all({s.name for s in t.data.spans} == {"query", "generate"} for t in traces)  # closed book: no retrieve
