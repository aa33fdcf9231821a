"""Dashboard users: the users file, password hashes and tenant access control.

The users file (YAML or JSON) maps each user to a password hash, a role and tenants::

    users:
      alice:
        password_hash: "pbkdf2_sha256$600000$<salt hex>$<hash hex>"   # ragbench dashboard --hash-password
        role: user                # user | admin
        tenants: [acme-robotics]
      root:
        password_hash: "pbkdf2_sha256$..."
        role: admin               # an admin sees every tenant

Access is checked on the server in every handler that touches a tenant
(:func:`require_access`), never only in a selector.

Passwords are hashed with PBKDF2-HMAC-SHA256 at :data:`KDF_ITERATIONS` (600,000, OWASP's
setting); a users file with a weaker hash is refused at load with the command that re-hashes.
An unknown user name costs the same key derivation as a real one (:meth:`UserDirectory.authenticate`).
User names Panel or ragbench give a meaning of their own (:data:`RESERVED_NAMES`) are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ragbench.errors import ConfigError, TenantError, suggest
from ragbench.tenancy import validate_tenant_id

ROLES = ("user", "admin")
_SCHEME = "pbkdf2_sha256"
#: PBKDF2-HMAC-SHA256 iterations of new hashes and the minimum a users file may hold (OWASP 2023).
KDF_ITERATIONS = 600_000
#: Names Panel or ragbench treat specially: Panel's ``is_guest`` cookie means "guest", an open
#: dashboard's user is "local", Bokeh's fallback user is "default_user".
RESERVED_NAMES = frozenset({"guest", "local", "default_user", "anonymous"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: A cookie secret needs this many characters and about this many bits by character statistics.
MIN_SECRET_CHARS, MIN_SECRET_BITS = 32, 100
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


class AccessDeniedError(TenantError, PermissionError):
    """A user asked for a tenant they may not see."""


def hash_password(password: str, *, iterations: int = KDF_ITERATIONS, salt: str | None = None) -> str:
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


def hash_iterations(stored: str) -> int | None:
    """The iteration count of a users-file hash, or ``None`` if it is not one.

    Example:
        >>> hash_iterations("pbkdf2_sha256$600000$00$00")
        600000
    """
    parts = stored.split("$") if isinstance(stored, str) else []
    if len(parts) != 4 or parts[0] != _SCHEME or not parts[1].isdigit():
        return None
    return int(parts[1])


def check_cookie_secret(secret: str) -> None:
    """Refuse a cookie secret that is short or repetitive (it signs every session cookie).

    The strength is estimated as length x Shannon entropy of its characters, and a secret made of
    fewer than 10 distinct characters or of one repeated part is refused: a random hex or base64
    secret of 32+ characters passes, ``"secret"`` or a repeated word does not.

    Example:
        >>> check_cookie_secret(secrets.token_hex(32))
    """
    counts = Counter(secret)
    bits = -sum(n * math.log2(n / len(secret)) for n in counts.values()) if secret else 0.0
    repeated = bool(secret) and secret in (secret + secret)[1:-1]
    if len(secret) < MIN_SECRET_CHARS or bits < MIN_SECRET_BITS or len(counts) < 10 or repeated:
        raise ConfigError(
            f"The cookie secret is too weak: {len(secret)} characters, about {bits:.0f} bits by character "
            f"statistics{', one part repeated' if repeated else ''}; it needs at least {MIN_SECRET_CHARS} random "
            f"characters ({MIN_SECRET_BITS}+ bits, 10+ distinct), because "
            "anyone who guesses it can sign in as any user. Generate one with "
            "`python -c 'import secrets; print(secrets.token_hex(32))'` and pass it as --cookie-secret or "
            "RAGBENCH_DASHBOARD_COOKIE_SECRET."
        )


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
            "Not signed in: the dashboard has a users file, so every request needs a signed-in user. Sign in at /login."
        )
    if not user.can_access(tenant):
        raise AccessDeniedError(
            f"User {user.name!r} may not access tenant {tenant!r}. Their tenants: "
            f"{', '.join(user.tenants) or 'none'}. Ask an admin to add the tenant to the users file."
        )
    return tenant


def _check_name(name: str, source: Path) -> None:
    if name.lower() in RESERVED_NAMES:
        raise ConfigError(
            f"{source}: user name {name!r} is reserved ({', '.join(sorted(RESERVED_NAMES))}): Panel signs "
            "anyone with an unsigned is_guest cookie in as 'guest', and 'local' is the open dashboard's user. "
            "Rename the user (e.g. guest-1)."
        )
    if not _NAME.match(name):
        raise ConfigError(
            f"{source}: user name {name!r} is not valid: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit."
        )


def _check_hash(name: str, pw: object, source: Path, min_iterations: int) -> str:
    iterations = hash_iterations(pw) if isinstance(pw, str) else None
    if iterations is None:
        raise ConfigError(
            f"{source}: user {name!r} needs a password_hash starting with {_SCHEME}$ "
            "(make one with `ragbench dashboard --hash-password`)."
        )
    if iterations < min_iterations:
        raise ConfigError(
            f"{source}: user {name!r} has a password hash with {iterations:,} PBKDF2-SHA256 iterations, below "
            f"the required {min_iterations:,}. Re-hash the password: `echo 'THE PASSWORD' | ragbench dashboard "
            f"--hash-password` prints a {KDF_ITERATIONS:,}-iteration hash; put it in password_hash."
        )
    return pw


def _parse_user(name: str, raw: object, source: Path, min_iterations: int = KDF_ITERATIONS) -> User:
    _check_name(name, source)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: user {name!r} must be a mapping with password_hash, role and tenants.")
    unknown = sorted(set(raw) - {"password_hash", "role", "tenants"})
    if unknown:
        raise ConfigError(
            f"{source}: user {name!r} has unknown key(s) {unknown}.{suggest(unknown[0], ['password_hash', 'role', 'tenants'])} "
            "Valid keys: password_hash, role, tenants (plain-text passwords are not accepted: "
            "make a hash with `ragbench dashboard --hash-password`)."
        )
    role = raw.get("role", "user")
    if role not in ROLES:
        raise ConfigError(f"{source}: user {name!r} has role {role!r}; valid roles: {', '.join(ROLES)}.")
    pw = _check_hash(name, raw.get("password_hash", ""), source, min_iterations)
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
        # unknown names are checked against this hash, so they cost what the dearest real user costs
        most = max((hash_iterations(u.password_hash) or 0 for u in self.users.values()), default=KDF_ITERATIONS)
        self._dummy_hash = f"{_SCHEME}${most}${secrets.token_hex(16)}${'00' * 32}"

    @classmethod
    def load(cls, path: str | Path, *, min_iterations: int = KDF_ITERATIONS) -> UserDirectory:
        """Read a users file; hashes below ``min_iterations`` are refused.

        ``min_iterations`` is lowered only by unit tests of the file format; ``ragbench dashboard``
        always loads with :data:`KDF_ITERATIONS`.
        """
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
        except Exception as exc:
            raise ConfigError(f"Users file {path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
        if not isinstance(data, Mapping) or not isinstance(data.get("users"), Mapping) or not data["users"]:
            raise ConfigError(f"Users file {path} must hold a non-empty 'users:' mapping (see docs/dashboard.md).")
        users = {str(n): _parse_user(str(n), raw, path, min_iterations) for n, raw in data["users"].items()}
        return cls(users, source=str(path))

    def get(self, name: str | None) -> User | None:
        return self.users.get(name) if name else None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password matches, else ``None``.

        An unknown name is verified against a dummy hash of the same cost, so the answer takes
        as long as for a real user (no user enumeration by timing). Slow by design: call it off
        the server's event loop.
        """
        user = self.users.get(name)
        ok = verify_password(password, user.password_hash if user is not None else self._dummy_hash)
        return user if user is not None and ok else None


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
    if users_file and cookie_secret:
        check_cookie_secret(cookie_secret)
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
