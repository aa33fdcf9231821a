"""Tenant ids: the one place they are validated; and the tenant record's file name and languages.

A tenant id names a directory and tables in the store, so it is restricted to a
safe alphabet: lowercase letters, digits, ``-`` and ``_``, starting with a letter
or digit, at most 63 characters, no ``__``.
"""

from __future__ import annotations

import re

from ragbench.errors import TenantError

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_TENANT_RE = re.compile(TENANT_ID_PATTERN)


class TenantId(str):
    """A tenant id that has been validated: created only by :func:`validate_tenant_id`, so a function that
    receives one (e.g. from a query at the API boundary) need not check it again."""

    __slots__ = ()


def validate_tenant_id(tenant: object) -> TenantId:
    """Return ``tenant`` as a :class:`TenantId` if it is a valid tenant id, else raise :class:`TenantError`.

    Validated once, at the boundary: a :class:`TenantId` passes through at once.

    Example:
        >>> validate_tenant_id("acme-robotics")
        'acme-robotics'
    """
    if type(tenant) is TenantId:
        return tenant
    if not isinstance(tenant, str):
        raise TenantError(
            f"Tenant id must be a string, got {type(tenant).__name__} {tenant!r}. Use an id such as 'acme-robotics'."
        )
    if not _TENANT_RE.fullmatch(tenant) or "__" in tenant:
        shown = repr(tenant) if tenant else "an empty string"
        raise TenantError(
            f"Invalid tenant id {shown}: a tenant id is 1-63 characters of lowercase letters, "
            "digits, '-' and '_', starts with a letter or digit and has no '__' "
            f"(pattern {TENANT_ID_PATTERN}). Example: 'acme-robotics'."
        )
    return TenantId(tenant)


TENANT_RECORD = "tenant.json"  # <store uri>/tenants/<tenant>/tenant.json (see ragbench.ingestion.tenants)


def record_languages(record: dict) -> list[str]:
    """A tenant record's languages: the ones set in its settings, else the ones detected in its documents.

    Example:
        >>> record_languages({"settings": {}, "detected_languages": ["hr"]})
        ['hr']
        >>> record_languages({"settings": {"languages": ["en", "hr"]}, "detected_languages": ["hr"]})
        ['en', 'hr']
    """
    return list((record.get("settings") or {}).get("languages") or record.get("detected_languages") or [])
