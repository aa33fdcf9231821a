"""OpenAIGenerator against a real fault-injecting HTTP server on 127.0.0.1 (``FaultyLLMServer``):
the circuit breaker counts the generation requests themselves, and a 200 that is not a complete
answer (an HTML page, a stream cut before ``[DONE]``, a stream without choices) is a failed answer
with its reason, never an empty or partial one. No model is needed: the faults are what is tested."""

import time

import pytest

from ragbench.generators import OpenAIGenerator
from ragbench.resilience import CircuitBreaker
from ragbench.types import Hit, Query
from tests.support.llm_faults import FaultyLLMServer

HITS = [Hit("c1", "leave", "acme", "The office is in Oslo, near the harbour.", 1.0, rank=0, title="Office")]


def question(i: int) -> Query:
    return Query(f"Where is the office, case {i}?", "acme", id=f"q{i}")


class Clock:
    """A monotonic clock the test moves by hand (the breaker's half-open timing, without sleeping)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_breaker_opens_on_generation_failures_in_per_question_runs():
    clock = Clock()
    with FaultyLLMServer("http500") as fake:
        gen = OpenAIGenerator(fake.base_url, retries=2, backoff_s=0.01, failure_threshold=5)
        gen.guard.breaker = CircuitBreaker(failure_threshold=5, reset_timeout_s=60, name=gen.base_url, clock=clock)
        answers = [gen.generate([question(i)], [HITS])[0] for i in range(10)]  # batch_size=1: one call per question
        kinds = [a.error.split(":")[0] for a in answers]
        # question 0: 3 attempts fail; question 1: 2 more open the circuit, its 3rd attempt is refused
        assert fake.posts == 5, (fake.posts, kinds)
        assert kinds == ["TransientError"] + ["CircuitOpenError"] * 9
        assert "HTTP 500" in answers[0].error
        assert "5 consecutive failures (last: TransientError" in answers[1].error and "HTTP 500" in answers[9].error
        assert gen.guard.breaker.snapshot()["opened"] == 1 and gen.guard.breaker.state == "open"
        clock.t += 60  # half-open: exactly one probe goes through, fails, and opens it again
        probe = gen.generate([question(10)], [HITS])[0]
        assert fake.posts == 6 and gen.guard.breaker.state == "open"
        assert (
            probe.error.startswith("CircuitOpenError") and "(last: TransientError" in probe.error
        )  # the cause is kept
        fake.mode = "ok"
        clock.t += 60
        healed = gen.generate([question(11)], [HITS])[0]
        assert healed.ok and healed.text == "Oslo is the answer." and gen.guard.breaker.state == "closed"
        assert fake.posts == 7 and fake.gets == 1  # the model was discovered once, not per question


@pytest.mark.parametrize("stream", [True, False])
def test_html_page_with_status_200_is_a_failed_answer(stream):
    with FaultyLLMServer("html") as fake:
        [answer] = OpenAIGenerator(fake.base_url, stream=stream, backoff_s=0.01).generate([question(0)], [HITS])
    assert not answer.ok and answer.text == ""
    assert answer.error.startswith("MalformedResponseError") and "<!DOCTYPE html>" in answer.error, answer.error
    assert fake.posts == 1  # an endpoint that answers garbage is up: not retried


def test_stream_cut_before_done_is_a_failed_answer_not_a_partial_one():
    with FaultyLLMServer("cut", answer="The office is in Oslo near the harbour.") as fake:
        gen = OpenAIGenerator(fake.base_url, retries=1, backoff_s=0.01)
        [answer] = gen.generate([question(0)], [HITS])
        assert not answer.ok and answer.text == ""
        assert answer.error.startswith("IncompleteResponseError") and "[DONE]" in answer.error, answer.error
        assert "The office is" in answer.error  # the partial text is quoted in the reason, not returned
        assert fake.posts == 2  # a cut stream is transient (the server may have died): retried once
        fake.mode = "ok"
        assert gen.generate([question(1)], [HITS])[0].text == "The office is in Oslo near the harbour."


@pytest.mark.parametrize("stream", [True, False])
def test_answer_without_choices_is_a_failed_answer(stream):
    with FaultyLLMServer("no_choices") as fake:
        [answer] = OpenAIGenerator(fake.base_url, stream=stream, backoff_s=0.01).generate([question(0)], [HITS])
    assert not answer.ok and answer.error.startswith("MalformedResponseError"), answer.error
    assert "choices" in answer.error


def test_healthy_stream_still_answers_with_tokens_and_timings():
    with FaultyLLMServer("ok", answer="Oslo is the answer.") as fake:
        answers = OpenAIGenerator(fake.base_url).generate([question(0), question(1)], [HITS, HITS])
    assert [a.text for a in answers] == ["Oslo is the answer."] * 2
    assert all(a.ok and a.completion_tokens == 4 and a.prompt_tokens == 20 for a in answers)
    assert all(0 < a.timings["ttft_ms"] <= a.timings["total_ms"] for a in answers)


def test_an_answers_total_ms_is_its_own_request_and_the_wait_for_a_slot_is_queue_ms():
    """With concurrency 1 the requests run one after another: each answer's ``total_ms`` covers its own
    request only (the time behind the earlier questions is ``queue_ms``), so the totals add up to no
    more than the batch's wall time. Measured as queue + request, the four would add up to about
    2.5 times the wall time (0.2 + 0.4 + 0.6 + 0.8 s for 0.8 s)."""
    with FaultyLLMServer("ok", delay_s=0.2) as fake:
        gen = OpenAIGenerator(fake.base_url, concurrency=1)
        gen.warmup()  # the model lookup is not part of the batch
        start = time.perf_counter()
        answers = gen.generate([question(i) for i in range(4)], [HITS] * 4)
        wall_ms = (time.perf_counter() - start) * 1000
    assert all(a.ok for a in answers) and fake.posts == 4
    totals = [a.timings["total_ms"] for a in answers]
    queues = [a.timings["queue_ms"] for a in answers]
    assert all(t >= 200 for t in totals)  # each waited for the server's 0.2 s: a lower bound, not a deadline
    assert sum(totals) <= wall_ms  # the four requests did not overlap and each counts only itself
    assert queues == sorted(queues) and queues[3] >= sum(totals[1:3])  # later questions waited for the earlier ones
