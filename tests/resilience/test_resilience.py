"""Retries, circuit breaker, per-tenant rate limits and health checks (no model needed)."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ragbench.errors import ConfigError, TenantError
from ragbench.resilience import (
    CircuitBreaker,
    CircuitOpenError,
    Guard,
    MalformedResponseError,
    RateLimitError,
    RetryPolicy,
    TenantRateLimiter,
    TokenBucket,
    TransientError,
    check_endpoint,
)
from ragbench.serving import free_port


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def flaky(fail_times, exc=TransientError):
    calls = []

    def fn():
        calls.append(time.perf_counter())
        if len(calls) <= fail_times:
            raise exc(f"failure {len(calls)}")
        return "ok"

    return fn, calls


def test_retry_backs_off_exponentially_then_succeeds():
    fn, calls = flaky(2)
    assert RetryPolicy(attempts=3, initial_s=0.05, max_s=1, jitter_s=0).call(fn) == "ok"
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert len(calls) == 3
    assert 0.04 < gaps[0] < 0.09 and 0.09 < gaps[1] < 0.16  # 0.05 then 0.1 s


def test_retry_gives_up_and_reraises_last_error():
    fn, calls = flaky(5)
    with pytest.raises(TransientError, match="failure 2"):
        RetryPolicy(attempts=2, initial_s=0, jitter_s=0).call(fn)
    assert len(calls) == 2


def test_non_transient_errors_are_not_retried():
    fn, calls = flaky(5, exc=MalformedResponseError)
    with pytest.raises(MalformedResponseError):
        RetryPolicy(attempts=4, initial_s=0, jitter_s=0).call(fn)
    assert len(calls) == 1


def test_retry_policy_rejects_bad_settings():
    with pytest.raises(ConfigError, match="attempts must be >= 1"):
        RetryPolicy(attempts=0)


def test_breaker_opens_after_threshold_fails_fast_and_half_open_probe_recovers():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=5, reset_timeout_s=60, clock=clock, name="llm")
    fn, calls = flaky(100)
    for _ in range(5):
        with pytest.raises(TransientError):
            breaker.call(fn)
    assert breaker.state == "open" and len(calls) == 5
    with pytest.raises(CircuitOpenError, match=r"Circuit 'llm' is open: 5 consecutive failures.*60\.0 s"):
        breaker.call(fn)
    assert len(calls) == 5  # refused without calling
    clock.t += 59.9
    assert breaker.state == "open"
    clock.t += 0.1
    assert breaker.state == "half_open"
    with pytest.raises(TransientError):  # the probe fails: open again for a full period
        breaker.call(fn)
    assert breaker.state == "open" and breaker.retry_after_s() == pytest.approx(60)
    clock.t += 60
    assert breaker.call(lambda: "up") == "up"
    assert breaker.state == "closed"
    assert breaker.snapshot() == {
        "name": "llm",
        "state": "closed",
        "consecutive_failures": 0,
        "calls": 7,
        "failures": 6,
        "rejected": 1,
        "opened": 2,
    }


def test_half_open_lets_one_probe_through_at_a_time():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=1, clock=clock)
    breaker.record_failure()
    clock.t += 1
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpenError, match="half_open"):
        breaker.before_call()


def test_success_resets_consecutive_failures_and_bad_answers_do_not_trip():
    breaker = CircuitBreaker(failure_threshold=2)
    fn, _ = flaky(1)
    with pytest.raises(TransientError):
        breaker.call(fn)
    breaker.call(fn)
    with pytest.raises(TransientError):
        breaker.call(flaky(1)[0])
    assert breaker.state == "closed"  # 1 failure after a success
    bad, _ = flaky(9, exc=MalformedResponseError)
    for _ in range(3):
        with pytest.raises(MalformedResponseError):
            breaker.call(bad)
    assert breaker.state == "closed"


def test_token_bucket_refills_at_rate():
    clock = Clock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock)
    assert [bucket.try_take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_take() == pytest.approx(0.5)
    clock.t += 0.5
    assert bucket.try_take() == 0.0
    clock.t += 10
    assert bucket.available == 3.0  # capped at capacity


def test_rate_limiter_refuse_mode_is_per_tenant():
    limiter = TenantRateLimiter(rate_per_s=1, burst=2, mode="refuse")
    assert limiter.acquire("acme") == 0.0 and limiter.acquire("acme") == 0.0
    with pytest.raises(RateLimitError, match=r"Tenant 'acme' exceeded its rate limit \(1 requests/s, burst 2\)"):
        limiter.acquire("acme")
    assert limiter.acquire("globex") == 0.0  # another tenant has its own bucket
    assert limiter.stats["acme"] == {"granted": 2, "refused": 1, "waited_s": 0.0}


def test_rate_limiter_wait_mode_paces_calls():
    limiter = TenantRateLimiter(
        rate_per_s=20, burst=1, mode="wait", overrides={"vip": {"rate_per_s": 1000, "burst": 100}}
    )
    start = time.perf_counter()
    for _ in range(5):
        limiter.acquire("acme")
    elapsed = time.perf_counter() - start
    vip_start = time.perf_counter()
    for _ in range(5):
        limiter.acquire("vip")
    print(f"\n5 calls at 20/s burst 1: {elapsed:.3f} s; vip tenant: {time.perf_counter() - vip_start:.4f} s")
    # 4 waits of 0.05 s: the limiter's own account is checked, not the wall clock (speed figures belong in bench/)
    assert limiter.stats["acme"]["granted"] == 5 and limiter.stats["acme"]["waited_s"] == pytest.approx(0.2, abs=0.02)
    assert limiter.stats["vip"] == {"granted": 5, "refused": 0, "waited_s": 0.0}  # within its burst: no wait


def test_rate_limiter_wait_mode_refuses_beyond_max_wait():
    limiter = TenantRateLimiter(rate_per_s=0.1, burst=1, mode="wait", max_wait_s=0.5)
    limiter.acquire("acme")
    with pytest.raises(RateLimitError, match="next slot in 10.00 s"):
        limiter.acquire("acme")


def test_rate_limiter_validates_mode_and_tenant():
    with pytest.raises(ConfigError, match="mode 'drop' is not valid"):
        TenantRateLimiter(mode="drop")
    with pytest.raises(TenantError):
        TenantRateLimiter().acquire("Bad Tenant")


def test_guard_limits_then_retries_through_breaker():
    clock = Clock()
    guard = Guard(
        retry=RetryPolicy(attempts=3, initial_s=0, jitter_s=0),
        breaker=CircuitBreaker(failure_threshold=2, clock=clock),
        limiter=TenantRateLimiter(rate_per_s=100, burst=100),
    )
    fn, calls = flaky(1)
    assert guard.call("acme", fn) == "ok" and len(calls) == 2
    dead, dead_calls = flaky(100)
    with pytest.raises(CircuitOpenError):  # 2 failures open the circuit; the 3rd attempt fails fast
        guard.call("acme", dead)
    assert len(dead_calls) == 2


class _Health(BaseHTTPRequestHandler):
    code = 200

    def do_GET(self):
        self.send_response(self.code if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_health_check_status_model():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        up = check_endpoint(url, name="llm")
        assert up.status == "up" and up.latency_ms is not None and up.detail == "ok"
        breaker = CircuitBreaker(failure_threshold=1)
        breaker.record_failure()
        degraded = check_endpoint(url, breaker=breaker)
        assert degraded.status == "degraded" and degraded.circuit == "open"
        assert check_endpoint(url, slow_ms=0.0).status == "degraded"
        _Health.code = 503
        assert check_endpoint(url).status == "down"
    finally:
        _Health.code = 200
        server.shutdown()
        server.server_close()
    down = check_endpoint(f"http://127.0.0.1:{free_port()}/v1", timeout_s=0.5)
    assert down.status == "down" and down.detail.startswith("unreachable")
    assert set(down.to_dict()) == {"name", "url", "status", "latency_ms", "checked_at", "detail", "circuit"}
