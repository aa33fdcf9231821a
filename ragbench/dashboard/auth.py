"""Dashboard users: the users file, password hashes and tenant access control.

The users file (YAML or JSON) maps each user to a password hash, a role and tenants::

    users:
      alice:
        password_hash: "pbkdf2_sha256$200000$<salt hex>$<hash hex>"   # ragbench dashboard hash-password
        role: user                # user | admin
        tenants: [acme-robotics]
      root:
        password_hash: "pbkdf2_sha256$..."
        role: admin               # an admin sees every tenant

Access is checked on the server in every handler that touches a tenant
(:func:`require_access`), never only in a selector.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ragbench.errors import ConfigError, TenantError, suggest
from ragbench.tenancy import validate_tenant_id

ROLES = ("user", "admin")
_SCHEME = "pbkdf2_sha256"
_ITERATIONS = 200_000
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


class AccessDeniedError(TenantError, PermissionError):
    """A user asked for a tenant they may not see."""


def hash_password(password: str, *, iterations: int = _ITERATIONS, salt: str | None = None) -> str:
    """PBKDF2-SHA256 hash of ``password`` in the users-file format.

    Example:
        >>> h = hash_password("s3cret", iterations=1000, salt="00")
        >>> verify_password("s3cret", h), verify_password("wrong", h)
        (True, False)
    """
    if not password:
        raise ConfigError("Refusing to hash an empty password: choose a non-empty one.")
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), iterations).hex()
    return f"{_SCHEME}${iterations}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches a hash made by :func:`hash_password` (constant-time compare)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations)).hex()
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, digest)


@dataclass(frozen=True)
class User:
    """A dashboard user: a name, a role and the tenants they may see (an admin sees all).

    Example:
        >>> User("alice", tenants=("acme-robotics",)).can_access("harbor-health")
        False
    """

    name: str
    role: str = "user"
    tenants: tuple[str, ...] = ()
    password_hash: str = field(default="", repr=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_access(self, tenant: str) -> bool:
        return self.is_admin or tenant in self.tenants

    def visible(self, tenants: Iterable[str]) -> list[str]:
        """The subset of ``tenants`` this user may see, sorted."""
        return sorted(t for t in tenants if self.can_access(t))


#: The user of an open (no-auth, localhost-only) dashboard: a local admin.
LOCAL_ADMIN = User("local", role="admin")


def require_access(user: User | None, tenant: str) -> str:
    """Return ``tenant`` if ``user`` may query it, else raise :class:`AccessDeniedError`.

    Example:
        >>> require_access(User("bob", tenants=("acme",)), "acme")
        'acme'
    """
    validate_tenant_id(tenant)
    if user is None:
        raise AccessDeniedError(
            "Not signed in: the dashboard has a users file, so every request needs a signed-in user. "
            "Sign in at /login."
        )
    if not user.can_access(tenant):
        raise AccessDeniedError(
            f"User {user.name!r} may not access tenant {tenant!r}. Their tenants: "
            f"{', '.join(user.tenants) or 'none'}. Ask an admin to add the tenant to the users file."
        )
    return tenant


def _parse_user(name: str, raw: object, source: Path) -> User:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: user {name!r} must be a mapping with password_hash, role and tenants.")
    unknown = sorted(set(raw) - {"password_hash", "role", "tenants"})
    if unknown:
        raise ConfigError(
            f"{source}: user {name!r} has unknown key(s) {unknown}.{suggest(unknown[0], ['password_hash', 'role', 'tenants'])} "
            "Valid keys: password_hash, role, tenants (plain-text passwords are not accepted: "
            "make a hash with `ragbench dashboard hash-password`)."
        )
    role = raw.get("role", "user")
    if role not in ROLES:
        raise ConfigError(f"{source}: user {name!r} has role {role!r}; valid roles: {', '.join(ROLES)}.")
    pw = raw.get("password_hash", "")
    if not isinstance(pw, str) or not pw.startswith(f"{_SCHEME}$"):
        raise ConfigError(
            f"{source}: user {name!r} needs a password_hash starting with {_SCHEME}$ "
            "(make one with `ragbench dashboard hash-password`)."
        )
    tenants = raw.get("tenants") or []
    if not isinstance(tenants, list):
        raise ConfigError(f"{source}: tenants of user {name!r} must be a list, got {tenants!r}.")
    try:
        valid = tuple(validate_tenant_id(t) for t in tenants)
    except TenantError as exc:
        raise ConfigError(f"{source}: user {name!r}: {exc}") from exc
    return User(name=name, role=role, tenants=valid, password_hash=pw)


class UserDirectory:
    """The users of a dashboard, loaded from a users file.

    Example:
        >>> users = UserDirectory.load("users.yaml")  # doctest: +SKIP
        >>> users.authenticate("alice", "pw").tenants  # doctest: +SKIP
        ('acme-robotics',)
    """

    def __init__(self, users: Mapping[str, User], *, source: str = "<memory>") -> None:
        self.users = dict(users)
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> UserDirectory:
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"Users file {path} does not exist. Create it (see docs/dashboard.md).")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except Exception as exc:  # noqa: BLE001 - json and yaml raise different types
            raise ConfigError(f"Users file {path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
        if not isinstance(data, Mapping) or not isinstance(data.get("users"), Mapping) or not data["users"]:
            raise ConfigError(f"Users file {path} must hold a non-empty 'users:' mapping (see docs/dashboard.md).")
        return cls({str(n): _parse_user(str(n), raw, path) for n, raw in data["users"].items()}, source=str(path))

    def get(self, name: str | None) -> User | None:
        return self.users.get(name) if name else None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password matches, else ``None``."""
        user = self.users.get(name)
        return user if user is not None and verify_password(password, user.password_hash) else None


def is_local_address(address: str) -> bool:
    """True for loopback addresses (``localhost``, ``127.x.x.x``, ``::1``)."""
    if address in LOCAL_ADDRESSES:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_bind(address: str, *, users_file: str | None, cookie_secret: str | None) -> None:
    """Refuse to serve a non-loopback address without a users file and a cookie secret.

    Example:
        >>> check_bind("127.0.0.1", users_file=None, cookie_secret=None)  # open on localhost is fine
    """
    if is_local_address(address):
        if users_file and not cookie_secret:
            raise ConfigError(
                "A users file needs a cookie secret to sign login cookies: pass --cookie-secret "
                "or set RAGBENCH_DASHBOARD_COOKIE_SECRET (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        return
    missing = [name for name, value in (("--users", users_file), ("--cookie-secret", cookie_secret)) if not value]
    if missing:
        raise ConfigError(
            f"Refusing to serve the dashboard on {address!r} without authentication: missing "
            f"{' and '.join(missing)}. Anyone who can reach that address could read every tenant's documents. "
            "Either bind to 127.0.0.1 (open, for local use) or pass --users users.yaml (see docs/dashboard.md) "
            "and --cookie-secret (or RAGBENCH_DASHBOARD_COOKIE_SECRET)."
        )
