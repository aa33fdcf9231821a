"""Server-side sessions (sqlite, signed cookies) and the sign-in limits, without a server."""

from __future__ import annotations

import secrets

import pytest

from ragbench.dashboard.gate import LoginLimiter, RequestGuard
from ragbench.dashboard.sessions import SessionStore
from ragbench.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_until_logout_or_expiry(tmp_path):
    clock, secret = Clock(), secrets.token_hex(32)
    store = SessionStore(tmp_path / "s.db", secret=secret, lifetime_hours=24, clock=clock)
    alice, bob = store.create("alice"), store.create("bob")
    assert store.user(alice) == "alice" and store.user(bob) == "bob"
    assert store.user(alice + "x") is None and store.user("alice") is None and store.user(None) is None
    again = SessionStore(tmp_path / "s.db", secret=secret, lifetime_hours=24, clock=clock)  # another process
    assert again.user(alice) == "alice"
    seen = []
    store.on_revoke(alice, lambda: seen.append("signed out"))
    assert store.revoke(alice) and seen == ["signed out"]
    assert store.user(alice) is None and again.user(alice) is None and store.user(bob) == "bob"
    assert not store.revoke(alice)  # already ended
    clock.now += 24 * 3600 + 1
    assert store.user(bob) is None  # expired: the same 24 h for every route
    other = SessionStore(tmp_path / "s.db", secret=secrets.token_hex(32), clock=clock)
    assert other.user(other.create("carol")) == "carol" and other.user(bob) is None  # another secret's cookie


def test_revoke_user_ends_every_session(tmp_path):
    store = SessionStore(tmp_path / "s.db", secret=secrets.token_hex(32))
    a, b = store.create("alice"), store.create("alice")
    assert store.revoke_user("alice") == 2 and store.user(a) is None and store.user(b) is None


def test_sessions_refuse_weak_secrets_and_bad_lifetimes(tmp_path):
    with pytest.raises(ConfigError, match="too weak"):
        SessionStore(tmp_path / "s.db", secret="changeme")
    with pytest.raises(ConfigError, match="must be positive"):
        SessionStore(tmp_path / "s.db", secret=secrets.token_hex(32), lifetime_hours=0)


def test_login_limiter_counts_per_user_and_per_client():
    lim = LoginLimiter(per_user="3/hour", per_client="5/hour")
    assert [lim.start("alice", "10.0.0.1") for _ in range(3)] == [None] * 3
    wait = lim.start("alice", "10.0.0.1")
    assert wait is not None and 0 < wait <= 3600
    assert lim.start("alice", "10.0.0.2") is not None  # the user is limited from any address
    assert lim.start("bob", "10.0.0.1") is None  # 4th attempt from this address
    lim.succeeded("bob", "10.0.0.1")  # a right password is taken back from the address's count
    assert lim.start("carol", "10.0.0.1") is None and lim.start("dave", "10.0.0.1") is None
    assert lim.start("erin", "10.0.0.1") is not None  # 5 failures from this address
    with pytest.raises(ConfigError, match="COUNT/PERIOD"):
        LoginLimiter(per_user="lots")


class _Request:
    def __init__(self, method, host, origin=None, path="/api/ask"):
        self.method, self.path = method, path
        self.headers = {"Host": host, **({"Origin": origin} if origin else {})}


def test_request_guard_host_and_origin_rules():
    guard = RequestGuard(["127.0.0.1:5006", "localhost:5006"])
    assert guard.refusal(_Request("GET", "127.0.0.1:5006")) is None
    assert guard.refusal(_Request("POST", "localhost:5006", "http://localhost:5006")) is None
    assert "is not an address" in guard.refusal(_Request("GET", "attacker.example:5006"))
    assert "is not an address" in guard.refusal(_Request("GET", ""))
    assert "same-origin proof" in guard.refusal(_Request("POST", "127.0.0.1:5006"))
    assert "same-origin proof" in guard.refusal(_Request("POST", "127.0.0.1:5006", "http://attacker.example"))
    assert "same-origin proof" in guard.refusal(_Request("POST", "127.0.0.1:5006", "null"))
    loopback = RequestGuard(None)  # panel serve --plugins: loopback names only
    assert (
        loopback.host_allowed("127.0.0.1:9")
        and loopback.host_allowed("[::1]:80")
        and not loopback.host_allowed("evil:9")
    )
