"""Settings of one ``ragbench serve`` process, passed to every worker through the environment."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

ENV_SETTINGS = "RAGBENCH_SERVICE_SETTINGS"
#: Largest body of a query request; an ingest request may carry up to :data:`MAX_INGEST_BODY_BYTES`.
MAX_BODY_BYTES = 2**20
MAX_INGEST_BODY_BYTES = 32 * 2**20  # a 20 MiB upload (the dashboard's limit) as base64, plus JSON


class ServiceSettings(BaseModel):
    """What ``ragbench serve`` was started with.

    Attributes:
        overrides: Hydra overrides of the served pipeline (``home=...``, ``generator=...``).
        open: No API keys: every local client is an admin. Only on a loopback address.
        host, port: Where uvicorn listens.
        allowed_hosts: ``Host`` header names the API answers to (empty: loopback names when open, any when keyed).
        requests_limit, tokens_limit: Default per-tenant limits (``limits`` notation, e.g. ``600/minute``);
            a tenant's own ``api_requests_limit`` / ``api_tokens_limit`` settings win.
        rate_limit_storage: A ``limits`` storage URI shared by the workers (default: sqlite under the home).
        trace_sample: Share of queries recorded as MLflow traces, by request id (default 0.1: exporting a
            trace to MLflow costs more CPU than answering an extractive query; see docs/deploy.md).
        trace_salt: Secret mixed into the request id's hash for that choice, so a client cannot pick ids
            that are always traced (each trace costs the server CPU). Random per ``ragbench serve`` (its
            workers share it); ``RAGBENCH_TRACE_SALT`` sets it, e.g. for replicas that should agree.
        max_batch: Most questions an in-process model generates in one batch.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    overrides: list[str] = Field(default_factory=list)
    open: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    allowed_hosts: list[str] = Field(default_factory=list)
    requests_limit: str = "600/minute"
    tokens_limit: str = "200000/minute"
    rate_limit_storage: str | None = None
    trace_sample: float = Field(default=0.1, ge=0.0, le=1.0)
    trace_salt: str = Field(
        default_factory=lambda: os.environ.get("RAGBENCH_TRACE_SALT") or secrets.token_hex(16), repr=False
    )
    max_batch: int = Field(default=32, ge=1)
    warm: bool = True

    def to_env(self) -> None:
        """Put these settings where worker processes read them (:meth:`from_env`)."""
        os.environ[ENV_SETTINGS] = self.model_dump_json()

    @classmethod
    def from_env(cls) -> ServiceSettings:
        raw = os.environ.get(ENV_SETTINGS)
        return cls.model_validate(json.loads(raw)) if raw else cls()


def service_dir(home: str | Path) -> Path:
    """``<home>/service``: the key store and the shared rate-limit and submission state."""
    path = Path(str(home)).expanduser().resolve() / "service"
    path.mkdir(parents=True, exist_ok=True)
    return path
