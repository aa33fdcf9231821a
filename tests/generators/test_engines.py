"""The in-process vLLM engine and transformers generation on the tiny Qwen2 (real engines, no server),
plus the acceptance command ``ragbench run generator=vllm generator.model=<dir>`` with MLflow checks."""

import json
import os
import subprocess
import sys

import pytest

from ragbench.errors import ModelError
from ragbench.generators import TransformersGenerator, VLLMGenerator
from ragbench.generators.vllm import release_engines
from ragbench.types import Hit, Query

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HITS = [
    Hit("c1", "leave", "acme", "Staff get 25 days of paid leave per year.", 1.0, rank=0, title="Leave policy"),
    Hit("c2", "office", "acme", "The office is in Oslo, near the harbour.", 0.5, rank=1, title="Office"),
]
QUERIES = [Query(f"How many days of leave, case {i}?", "acme" if i % 2 else "globex") for i in range(4)]


@pytest.fixture(scope="module")
def engine_gen(tiny_qwen2):
    # Flask in the process (MLflow's UI and tracing import it) once made vLLM's CPU kernel scan fail with
    # "Working outside of application context": the engine must start regardless of what ran before.
    import flask.globals  # noqa: F401

    gen = VLLMGenerator(str(tiny_qwen2), max_tokens=12, max_model_len=512)
    gen.warmup()
    yield gen
    release_engines()


@pytest.fixture(scope="module")
def hf_gen(tiny_qwen2):
    return TransformersGenerator(str(tiny_qwen2), max_tokens=12, max_model_len=512, batch_size=4)


def test_unknown_or_wrong_model_folder_is_a_clear_error(tmp_path):
    for cls in (VLLMGenerator, TransformersGenerator):
        with pytest.raises(ModelError, match="does not exist.*never downloads"):
            cls("/nonexistent/qwen")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match=r"has no config.json.*It holds: weights.bin"):
        VLLMGenerator(str(tmp_path))


def test_offline_engine_answers_a_batch_and_refuses_only_the_too_long_item(engine_gen):
    too_long = Query("why " * 1200, "acme")
    answers = engine_gen.generate([*QUERIES, too_long], [HITS] * 4 + [[]])
    assert [a.ok for a in answers] == [True, True, True, True, False]
    assert "prompt too long" in answers[-1].error and "only 500 fit" in answers[-1].error
    for a in answers[:4]:
        assert a.completion_tokens == 12 and a.prompt_tokens > 50
        assert 0 < a.timings["ttft_ms"] <= a.timings["total_ms"]
        assert 0 < a.confidence <= 1


def test_long_sources_are_dropped_to_fit_the_context(engine_gen):
    long_hits = [Hit(f"c{i}", f"d{i}", "acme", "harbour office " * 12, 1.0 - i / 10, rank=i) for i in range(8)]
    query = Query("Where?", "acme")
    count = lambda m: len(engine_gen._token_ids(m))
    msgs, kept = engine_gen.prompt.fit(query, long_hits, count_tokens=count, budget=500)
    assert 1 <= len(kept) < 8 and kept == long_hits[: len(kept)]  # the best-ranked ones stay
    assert count(engine_gen.prompt.messages(query, long_hits[: len(kept) + 1])) > 500 >= count(msgs)
    [answer] = engine_gen.generate([query], [long_hits])
    assert answer.ok and answer.prompt_tokens == count(msgs)


def test_greedy_answers_agree_between_vllm_and_transformers(engine_gen, hf_gen):
    v = engine_gen.generate(QUERIES[:2], [HITS] * 2)
    h = hf_gen.generate(QUERIES[:2], [HITS] * 2)
    for a, b in zip(v, h):
        assert a.ok and b.ok
        assert (a.prompt_tokens, a.completion_tokens) == (b.prompt_tokens, b.completion_tokens)
        assert a.confidence == pytest.approx(b.confidence, rel=0.05)
        assert b.timings["ttft_ms"] < b.timings["total_ms"]


def test_json_schema_constrains_offline_output(engine_gen, tiny_qwen2):
    schema = {"type": "string", "enum": ["yes", "no", "unknown"]}
    structured = VLLMGenerator(str(tiny_qwen2), max_tokens=8, json_schema=schema)
    assert structured.engine is engine_gen.engine  # same engine settings: the loaded engine is shared
    answers = structured.generate(QUERIES, [HITS] * 4)
    assert all(a.ok and json.loads(a.text) in schema["enum"] for a in answers), [a.text for a in answers]


def test_released_engines_are_shut_down_and_a_generator_builds_a_new_one(engine_gen):
    before = [a.text for a in engine_gen.generate(QUERIES[:2], [HITS] * 2)]
    old = engine_gen.engine
    release_engines()
    assert not old.llm_engine.engine_core._finalizer.alive  # vLLM's own shutdown ran (it detaches this)
    after = [a.text for a in engine_gen.generate(QUERIES[:2], [HITS] * 2)]
    assert engine_gen.engine is not old
    assert after == before  # greedy: the new engine answers exactly as the old one did


def test_ragbench_run_with_vllm_logs_tokens_per_s_and_ttft_to_mlflow(tiny_qwen2, tmp_path):
    home = tmp_path / "home"
    cmd = [
        sys.executable,
        "-m",
        "ragbench.cli",
        "run",
        "generator=vllm",
        f"generator.model={tiny_qwen2}",
        "generator.max_tokens=16",
        "retriever=bm25",
        "max_queries=4",
        f"home={home}",
        "progress=false",
    ]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
    run = mlflow.search_runs(experiment_names=["ragbench"]).iloc[0]
    print(
        f"\nvllm run: tokens/s {run['metrics.generate/tokens_per_s']:.1f}, "
        f"TTFT p50 {run['metrics.latency/ttft/p50_ms']:.1f} ms, p95 {run['metrics.latency/ttft/p95_ms']:.1f} ms"
    )
    assert run["metrics.counts/questions"] == 4 and run["metrics.counts/failed"] == 0
    assert run["metrics.generate/tokens_per_s"] > 0
    # telemetry (docs/performance.md): prompt and output tokens/s from the engine's own token counts
    assert (
        run["metrics.throughput/generate/prompt_tokens_per_s"]
        > run["metrics.throughput/generate/output_tokens_per_s"]
        > 0
    )
    assert run["metrics.throughput/generate/output_tokens_per_s"] == pytest.approx(run["metrics.generate/tokens_per_s"])
    assert "GPU metrics: off (" in proc.stderr and run["tags.gpu.metrics"].startswith("off: ")
    assert (
        0
        < run["metrics.latency/ttft/p50_ms"]
        <= run["metrics.latency/ttft/p95_ms"]
        <= run["metrics.latency/ttft/p99_ms"]
    )
    assert run["metrics.latency/answer_total/p50_ms"] >= run["metrics.latency/ttft/p50_ms"]
