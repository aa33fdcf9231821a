"""API keys: hashed at rest, one answer for every bad key, revocation, and the ``ragbench keys`` commands."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys

import pytest

from ragbench.errors import ConfigError
from ragbench.service.keys import KeyStore


def test_keys_are_stored_as_sha256_digests_only(tmp_path):
    store = KeyStore(tmp_path / "keys.db")
    key, record = store.create("ci-bot", tenants=["acme-robotics", "harbor-health"])
    assert key.startswith(f"rbk_{record.key_id}_") and len(key) == 4 + 13 + 43
    raw = (tmp_path / "keys.db").read_bytes()
    assert key.encode() not in raw and key.split("_", 2)[2].encode() not in raw
    [(stored,)] = sqlite3.connect(tmp_path / "keys.db").execute("SELECT key_hash FROM api_keys").fetchall()
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert store.verify(key).tenants == ("acme-robotics", "harbor-health")
    assert store.verify(key).user.can_access("harbor-health") and not store.verify(key).user.can_access("other")


def test_every_bad_key_is_none_and_revocation_is_immediate(tmp_path):
    store = KeyStore(tmp_path / "keys.db")
    key, record = store.create("app", tenants=["acme-robotics"])
    wrong_secret = key[:-2] + ("aa" if not key.endswith("aa") else "bb")
    unknown_id = "rbk_" + "0" * 12 + key[16:]
    for bad in (None, "", "garbage", wrong_secret, unknown_id, key + "x", key.upper()):
        assert store.verify(bad) is None, bad
    assert KeyStore(tmp_path / "keys.db").verify(key) is not None  # another process's store object
    assert store.revoke(record.key_id) and not store.revoke(record.key_id)
    assert store.verify(key) is None and KeyStore(tmp_path / "keys.db").verify(key) is None
    assert [k.revoked is not None for k in store.list()] == [True] and len(store) == 0


@pytest.mark.parametrize(
    ("name", "tenants", "role", "message"),
    [
        ("ci bot", ["acme"], "user", "Key name"),
        ("app", [], "user", "has no tenants"),
        ("app", ["../x"], "user", "Invalid tenant id"),
        ("app", ["acme"], "root", "Role 'root' is not valid"),
    ],
)
def test_bad_keys_are_refused_with_the_reason(tmp_path, name, tenants, role, message):
    with pytest.raises(ConfigError, match=message):
        KeyStore(tmp_path / "keys.db").create(name, tenants=tenants, role=role)


def test_admin_keys_reach_every_tenant(tmp_path):
    key, _ = KeyStore(tmp_path / "keys.db").create("ops", role="admin")
    user = KeyStore(tmp_path / "keys.db").verify(key).user
    assert user.is_admin and user.can_access("any-tenant")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ragbench.cli", *args], capture_output=True, text=True, timeout=300)


def test_the_keys_commands_create_list_and_revoke(tmp_path):
    home = f"home={tmp_path / 'home'}"
    made = _cli("keys", "create", "--name", "ci-bot", "--tenant", "acme-robotics", "--json", home)
    assert made.returncode == 0, made.stderr
    record = json.loads(made.stdout)
    listed = _cli("keys", "list", home)
    assert record["key_id"] in listed.stdout and "ci-bot" in listed.stdout and record["key"] not in listed.stdout
    store = KeyStore(tmp_path / "home" / "service" / "keys.db")
    assert store.verify(record["key"]).name == "ci-bot"
    assert _cli("keys", "revoke", record["key_id"], home).returncode == 0
    assert store.verify(record["key"]) is None
    again = _cli("keys", "revoke", record["key_id"], home)
    assert again.returncode == 2 and "no live key" in again.stdout
    bad = _cli("keys", "create", "--name", "x", home)
    assert bad.returncode == 2 and "has no tenants" in bad.stderr


def test_serve_refuses_an_open_api_beyond_loopback(tmp_path):
    proc = _cli("serve", "--open", "--host", "0.0.0.0", f"home={tmp_path}")
    assert proc.returncode == 2 and "Refusing to serve the query API on '0.0.0.0' without API keys" in proc.stderr
