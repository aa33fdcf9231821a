"""The sqlite storage behind ``limits``: exact counts across processes, windows that expire, per-tenant limits."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from limits import parse, strategies

from ragbench.errors import ConfigError
from ragbench.service.ratelimit import SQLiteStorage, TenantLimits


def _hammer(uri: str, n: int, out) -> None:
    limiter = strategies.FixedWindowRateLimiter(SQLiteStorage(uri))
    out.put(sum(limiter.hit(parse("150/hour"), "acme") for _ in range(n)))


def test_two_processes_share_one_count(tmp_path):
    uri = f"ragbench+sqlite:///{tmp_path / 'limits.db'}"
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(uri, 100, out)) for _ in range(2)]
    for p in procs:
        p.start()
    allowed = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(allowed) == 150  # 200 hits, a limit of 150: exactly 150 let through across both processes
    assert SQLiteStorage(uri).get(parse("150/hour").key_for("acme")) == 200


def test_a_window_expires_and_starts_again(tmp_path):
    storage = SQLiteStorage(f"ragbench+sqlite:///{tmp_path / 'limits.db'}")
    assert [storage.incr("k", 1) for _ in range(3)] == [1, 2, 3]
    assert 0 < storage.get_expiry("k") - time.time() <= 1
    time.sleep(1.1)
    assert storage.get("k") == 0 and storage.incr("k", 1, amount=5) == 5
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()


def test_tenant_settings_override_the_defaults_and_are_read_live(tmp_path):
    settings = {"acme": {"api_requests_limit": "2/hour"}}
    limits = TenantLimits(
        f"ragbench+sqlite:///{tmp_path / 'l.db'}",
        requests="5/hour",
        tokens="100/hour",
        settings=lambda t: settings.get(t, {}),
    )
    assert [limits.admit("acme") is None for _ in range(3)] == [True, True, False]
    refusal = limits.admit("acme")
    assert "'acme' is over its limit of 2 requests per 1 hour" in refusal.message and 3500 < refusal.retry_after <= 3600
    assert all(limits.admit("globex") is None for _ in range(5)) and limits.admit("globex") is not None
    settings["acme"] = {"api_requests_limit": "none"}
    assert all(limits.admit("acme") is None for _ in range(20))
    limits.charge("globex-2", 100)
    assert "generated tokens" in limits.admit("globex-2").message


def test_a_bad_limit_says_how_to_write_one(tmp_path):
    with pytest.raises(ConfigError, match="write COUNT/PERIOD, e.g. '600/minute'"):
        TenantLimits(f"ragbench+sqlite:///{tmp_path / 'l.db'}", requests="lots")
