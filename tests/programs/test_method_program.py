"""Any ragbench RAG method as a DSPy module (``MethodProgram``), on real parts: LanceDB BM25 over the demo and
the extractive generator; the LLM steps of rewrite are scripted (tests.support.scripted_llm) because what is
tested depends on exactly what the LLM writes."""

import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not reach the network at import
pytest.importorskip("dspy")

import dspy

from ragbench.errors import ConfigError, TenantError
from ragbench.methods import Conversational, Rewrite
from ragbench.programs import MethodAnswerFailed, MethodProgram, dspy_metric, examples_from_dataset, score_program
from ragbench.types import Completion
from tests.support.scripted_llm import ScriptedLLM

N = 12


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset

    home = tmp_path_factory.mktemp("dspy-methods")
    overrides = [f"home={home}", "progress=false", "retriever=bm25", "generator=extractive", "tracking=none"]
    parts = build(compose([*overrides, f"max_queries={N}", "k=5"]))
    ingest_dataset(parts)
    return parts


def test_a_method_in_dspy_answers_and_scores_exactly_as_a_ragbench_run(demo):
    import ragbench

    run = ragbench.run(demo).per_question().set_index("question_id")
    examples = examples_from_dataset(demo.dataset, limit=N)
    assert [e.id for e in examples] == list(run.index)  # the same first N questions
    program = MethodProgram.from_parts(demo, tenant="acme-robotics")
    assert program.k == 5 and program.named_predictors() == []
    for ex in examples[:4]:
        pred = program(**ex.inputs())
        assert pred.answer == run.loc[ex.id, "answer"]
        assert [h.chunk_id for h in pred.hits] == list(run.loc[ex.id, "retrieved_chunk_ids"])
        assert pred.trace.method == "standard" and pred.trace.queries == [ex.question]
        assert {h.tenant for h in pred.hits} == {ex.tenant}
    for metric in ("f1", "recall@5"):
        scored = score_program(program, examples, dspy_metric(metric))
        assert scored["n"] == N and scored["failed"] == 0
        assert scored["score"] == pytest.approx(run[f"metric.{metric}"].mean(), abs=1e-12)
    evaluated = dspy.Evaluate(devset=examples, metric=dspy_metric("f1"), num_threads=1, display_progress=False)(program)
    assert evaluated.score == pytest.approx(round(100 * run["metric.f1"].mean(), 2))


def test_a_methods_llm_steps_and_trace_reach_the_prediction(demo):
    llm = ScriptedLLM([("When was", "Search query: Acme Robotics founded garage Kettle Lane")])
    program = MethodProgram(Rewrite(demo.retriever, demo.generator, llm=llm), tenant="acme-robotics", k=3)
    pred = program(question="When was it started?")
    assert pred.trace.queries == ["Acme Robotics founded garage Kettle Lane"] and pred.hits[0].doc_id == "acme-023"
    assert pred.trace.steps == [{"step": "rewrite", "text": "Search query: Acme Robotics founded garage Kettle Lane"}]
    assert set(pred.timings) == {"rewrite_ms", "retrieve_ms", "generate_ms", "total_ms"}


def test_a_failed_step_is_counted_as_failed_never_scored(demo):
    llm = ScriptedLLM([("started", Completion(text="", error="engine down")), ("", "vacation days paid leave")])
    program = MethodProgram(Rewrite(demo.retriever, demo.generator, llm=llm), tenant="acme-robotics", k=3)
    with pytest.raises(MethodAnswerFailed, match="method=rewrite failed on 'When was it started\\?': rewrite step"):
        program(question="When was it started?")
    ok = dspy.Example(question="How many paid vacation days?", tenant="acme-robotics", answers=["25 days"])
    bad = dspy.Example(question="When was it started?", tenant="acme-robotics", answers=["2011"])
    devset = [e.with_inputs("question", "tenant") for e in (ok, bad)]
    scored = score_program(program, devset, dspy_metric("f1"))
    assert scored["failed"] == 1 and scored["n"] == 1
    assert scored["score"] == dspy_metric("f1")(devset[0], program(**devset[0].inputs()))


def test_history_makes_the_question_a_follow_up(demo):
    program = MethodProgram(Conversational(demo.retriever, demo.generator, mode="concat"), tenant="acme-robotics")
    first = "How many paid vacation days does a full-time employee get?"
    for history in ([(first, "25 days.")], [{"question": first, "answer": "25 days."}]):
        pred = program(question="And how many can I carry over?", history=history)
        assert pred.trace.queries == [f"{first} And how many can I carry over?"]
        assert pred.trace.notes["condensed"] == "concat"
    with pytest.raises(ConfigError, match="neither \\(question, answer\\)"):
        program(question="And then?", history=["just a string"])


def test_bad_settings_say_how_to_fix_them(demo):
    with pytest.raises(ConfigError, match="needs a ragbench method"):
        MethodProgram(demo.retriever, tenant="acme-robotics")
    with pytest.raises(ConfigError, match="k must be a whole number >= 1"):
        MethodProgram(demo.method, tenant="acme-robotics", k=0)
    with pytest.raises(TenantError):
        MethodProgram(demo.method, tenant="../etc")
    with pytest.raises(TenantError):
        MethodProgram(demo.method, tenant="acme-robotics")(question="q", tenant="a b")
