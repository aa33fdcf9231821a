"""Token streaming for the dashboard: pieces arrive as the real vLLM server streams them."""

from ragbench.generators.openai import OpenAIGenerator
from ragbench.types import Answer, Hit, Query

HITS = [Hit("c1", "acme-001", "acme", "Acme employees get 25 vacation days.", 1.0, rank=0)]


def test_stream_answer_yields_pieces_then_the_final_answer(vllm_server):
    gen = OpenAIGenerator(vllm_server.base_url, max_tokens=12)
    items = list(gen.stream_answer(Query("How many vacation days?", "acme"), HITS))
    pieces, final = items[:-1], items[-1]
    assert isinstance(final, Answer) and final.ok, final
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert 1 <= len(pieces) <= final.completion_tokens <= 12
    assert "ttft_ms" in final.timings and final.timings["ttft_ms"] <= final.timings["total_ms"]
    # the final text is the streamed text with citation markers removed
    from ragbench.generators._citations import strip_citations

    assert final.text == strip_citations("".join(pieces))


def test_stream_answer_reports_an_unreachable_server_as_a_failed_answer():
    gen = OpenAIGenerator("http://127.0.0.1:9/v1", retries=0, connect_timeout_s=0.5)
    items = list(gen.stream_answer(Query("q", "acme"), HITS))
    assert len(items) == 1 and not items[0].ok and "unreachable" in items[0].error
