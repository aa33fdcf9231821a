"""Users file, password hashes, tenant access checks and the bind check (no server, no models)."""

from __future__ import annotations

import hashlib
import io
import json
import secrets

import pytest

from ragbench.dashboard.auth import (
    KDF_ITERATIONS,
    AccessDeniedError,
    User,
    UserDirectory,
    check_bind,
    check_cookie_secret,
    hash_password,
    is_local_address,
    require_access,
    verify_password,
)
from ragbench.errors import ConfigError


def test_password_hash_round_trip_and_rejections():
    h = hash_password("correct horse", iterations=1000)
    assert h.startswith("pbkdf2_sha256$1000$")
    assert verify_password("correct horse", h)
    assert not verify_password("correct horsE", h)
    assert not verify_password("correct horse", "pbkdf2_sha256$1000$zz$nothex")  # malformed: False, no exception
    assert not verify_password("x", "md5$1$00$00")
    assert hash_password("pw", iterations=1000, salt="ab") == hash_password("pw", iterations=1000, salt="ab")
    with pytest.raises(ConfigError, match="empty password"):
        hash_password("")


def _write(tmp_path, users, name="users.yaml"):
    import yaml

    path = tmp_path / name
    path.write_text(yaml.safe_dump({"users": users}) if name.endswith(".yaml") else json.dumps({"users": users}))
    return path


def test_users_file_yaml_and_json(tmp_path):
    h = hash_password("pw-a", iterations=1000)
    for name in ("users.yaml", "users.json"):
        users = UserDirectory.load(
            _write(
                tmp_path,
                {
                    "alice": {"password_hash": h, "tenants": ["acme-robotics"]},
                    "root": {"password_hash": h, "role": "admin"},
                },
                name,
            ),
            min_iterations=1000,
        )  # the format, not the cost, is tested here
        assert users.get("alice") == User("alice", "user", ("acme-robotics",))
        assert users.authenticate("alice", "pw-a").tenants == ("acme-robotics",)
        assert users.authenticate("alice", "wrong") is None
        assert users.authenticate("mallory", "pw-a") is None
        assert users.get("root").is_admin and users.get(None) is None


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"password": "plain"}, "plain-text passwords are not accepted"),
        ({"password_hash": "secret"}, "needs a password_hash starting with pbkdf2_sha256"),
        ({"password_hash": "pbkdf2_sha256$x$00$00"}, "needs a password_hash starting with pbkdf2_sha256"),
        ({"password_hash": "HASH", "role": "superuser"}, "role 'superuser'; valid roles: user, admin"),
        ({"password_hash": "HASH", "tenants": ["Acme Robotics"]}, "Invalid tenant id 'Acme Robotics'"),
        ({"password_hash": "HASH", "tenants": "acme"}, "must be a list"),
    ],
)
def test_users_file_errors_say_what_is_wrong(tmp_path, entry, message):
    entry = {k: (hash_password("x", iterations=1000) if v == "HASH" else v) for k, v in entry.items()}
    with pytest.raises(ConfigError, match=message):
        UserDirectory.load(_write(tmp_path, {"bob": entry}), min_iterations=1000)


@pytest.mark.parametrize("name", ["guest", "Guest", "local", "default_user", "anonymous", "bad name", "-x", "a/b"])
def test_reserved_and_malformed_user_names_are_refused(tmp_path, name):
    """Panel signs anyone with an unsigned is_guest cookie in as 'guest': no users-file account may carry that name."""
    entry = {"password_hash": hash_password("x", iterations=1000), "tenants": ["harbor-health"]}
    with pytest.raises(ConfigError, match="is reserved|is not valid"):
        UserDirectory.load(_write(tmp_path, {name: entry}), min_iterations=1000)


def test_weak_password_hashes_are_refused_with_the_rehash_command(tmp_path):
    path = _write(tmp_path, {"alice": {"password_hash": hash_password("pw", iterations=200_000)}})
    with pytest.raises(ConfigError) as err:
        UserDirectory.load(path)
    assert "200,000 PBKDF2-SHA256 iterations, below the required 600,000" in str(err.value)
    assert "ragbench dashboard --hash-password" in str(err.value)
    assert hash_password("pw").startswith(f"pbkdf2_sha256${KDF_ITERATIONS}$") and KDF_ITERATIONS >= 600_000
    ok = _write(tmp_path, {"alice": {"password_hash": hash_password("pw")}}, "ok.yaml")
    assert UserDirectory.load(ok).authenticate("alice", "pw").name == "alice"


def test_unknown_users_cost_the_same_key_derivation(tmp_path, monkeypatch):
    """No user enumeration by timing: an unknown name runs PBKDF2 with the real users' cost."""
    users = UserDirectory.load(_write(tmp_path, {"alice": {"password_hash": hash_password("pw")}}))
    calls = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    assert users.authenticate("alice", "wrong") is None
    assert users.authenticate("mallory", "pw") is None
    assert users.authenticate("alice", "pw").name == "alice"
    assert calls == [KDF_ITERATIONS] * 3


@pytest.mark.parametrize("secret", ["secret", "test-secret", "a" * 64, "ab" * 32, "password" * 5])
def test_weak_cookie_secrets_are_refused(secret):
    with pytest.raises(ConfigError, match="cookie secret is too weak.*token_hex"):
        check_bind("127.0.0.1", users_file="users.yaml", cookie_secret=secret)
    check_cookie_secret(secrets.token_hex(32))
    check_cookie_secret(secrets.token_urlsafe(32))


def test_users_file_missing_or_empty(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        UserDirectory.load(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("users: {}\n")
    with pytest.raises(ConfigError, match="non-empty 'users:' mapping"):
        UserDirectory.load(tmp_path / "empty.yaml")


def test_require_access():
    alice = User("alice", tenants=("acme-robotics",))
    assert require_access(alice, "acme-robotics") == "acme-robotics"
    with pytest.raises(AccessDeniedError, match="'alice' may not access tenant 'harbor-health'"):
        require_access(alice, "harbor-health")
    assert require_access(User("root", role="admin"), "harbor-health") == "harbor-health"
    assert User("root", role="admin").visible(["b", "a"]) == ["a", "b"]
    assert alice.visible(["harbor-health", "acme-robotics"]) == ["acme-robotics"]
    with pytest.raises(AccessDeniedError, match="Not signed in"):
        require_access(None, "acme-robotics")
    with pytest.raises(Exception, match="Invalid tenant id"):  # a crafted id never reaches the store
        require_access(User("root", role="admin"), "x' OR '1'='1")


def test_bind_check():
    assert is_local_address("127.0.0.1") and is_local_address("::1") and is_local_address("localhost")
    assert not is_local_address("0.0.0.0") and not is_local_address("10.1.2.3")
    check_bind("127.0.0.1", users_file=None, cookie_secret=None)
    check_bind("0.0.0.0", users_file="users.yaml", cookie_secret=secrets.token_hex(32))
    with pytest.raises(ConfigError, match="Refusing to serve the dashboard on '0.0.0.0'.*--users and --cookie-secret"):
        check_bind("0.0.0.0", users_file=None, cookie_secret=None)
    with pytest.raises(ConfigError, match="missing --cookie-secret"):
        check_bind("192.168.1.5", users_file="users.yaml", cookie_secret=None)
    with pytest.raises(ConfigError, match="needs a cookie secret"):
        check_bind("127.0.0.1", users_file="users.yaml", cookie_secret=None)


def test_cli_refuses_public_address_without_auth(capsys, monkeypatch):
    from ragbench.cli import main

    monkeypatch.delenv("RAGBENCH_DASHBOARD_COOKIE_SECRET", raising=False)
    assert main(["dashboard", "--address", "0.0.0.0", "--port", "5999"]) == 2
    err = capsys.readouterr().err
    assert "Refusing to serve the dashboard on '0.0.0.0' without authentication" in err
    assert "--users" in err and "--cookie-secret" in err


def test_cli_hash_password(capsys, monkeypatch):
    from ragbench.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert main(["dashboard", "--hash-password"]) == 0
    assert verify_password("s3cret", capsys.readouterr().out.strip())


def test_open_mode_serves_only_local_host_headers():
    from ragbench.dashboard.views import is_local_host_header

    for host in ("127.0.0.1:5006", "localhost", "localhost:80", "[::1]:5006", "::1", "127.0.0.2:1"):
        assert is_local_host_header(host), host
    for host in ("0.0.0.0:5006", "rag.example.org", "10.0.0.5:5006", "[2001:db8::1]:80", "", "localhost.evil.com"):
        assert not is_local_host_header(host), host
