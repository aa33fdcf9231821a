"""The LLM judge's resilience against a real fault-injecting HTTP server on 127.0.0.1
(``FaultyLLMServer``): by default it retries transient failures with backoff and has a circuit
breaker, so a dead judge fails fast instead of every item waiting its full timeout; each failure
is still a per-item JudgeError with its reason. No model is needed: the faults are what is tested."""

import pytest

from ragbench.judge import Judge
from ragbench.judge.client import JudgeError
from tests.support.llm_faults import FaultyLLMServer


def _reasons(judge: Judge, n: int) -> list[str]:
    reasons = []
    for i in range(n):
        with pytest.raises(JudgeError) as info:
            judge.complete(f"Is item {i} faithful? Answer in JSON.")
        reasons.append(str(info.value))
    return reasons


def test_dead_judge_fails_fast_once_its_breaker_opens():
    with FaultyLLMServer("hang") as fake:  # accepts the request and never answers
        judge = Judge(fake.base_url, model="fake", timeout_s=0.5)  # default retries and breaker
        reasons = _reasons(judge, 8)
        posts = fake.posts
    print(f"\ndead judge: {posts} requests for 8 items; reasons {reasons[0]!r} ... {reasons[-1]!r}")
    # item 0: 3 attempts time out; item 1: 2 more open the breaker; items 2-7 are refused without a request
    assert posts == 5 and judge.calls == 5
    assert reasons[0].startswith("timeout"), reasons[0]
    assert all(r.startswith("circuit open") and "(last: TransientError: timeout" in r for r in reasons[1:]), reasons[1:]
    assert judge.guard.breaker.state == "open"


def test_judge_retries_a_transient_failure_by_default():
    with FaultyLLMServer("http500", faults=2, answer='{"verdict": 1}') as fake:
        judge = Judge(fake.base_url, model="fake", backoff_s=0.01)
        assert judge.complete("Is it faithful?") == '{"verdict": 1}'
        assert fake.posts == 3 and judge.guard.breaker.state == "closed"


def test_garbage_answers_are_not_retried_and_do_not_trip_the_breaker():
    with FaultyLLMServer("html") as fake:
        judge = Judge(fake.base_url, model="fake", backoff_s=0.01, failure_threshold=2)
        reasons = _reasons(judge, 3)
        assert fake.posts == 3  # one request per item: the judge is up, its answers are unusable
    assert all(r.startswith("invalid response") for r in reasons), reasons
    assert judge.guard.breaker.state == "closed"


def test_model_discovery_goes_through_the_same_guard():
    with FaultyLLMServer("ok", model="judge-model") as fake:
        judge = Judge(fake.base_url)
        assert judge.model_name() == "judge-model" and fake.gets == 1
    with pytest.raises(JudgeError, match="did not list its models: connection failed"):
        Judge(fake.base_url, backoff_s=0.01).model_name()  # the server is gone now
