"""What one worker process of the query service holds: the built pipeline and the shared state.

Everything shared between worker processes lives on disk under ``<home>``: the LanceDB store,
the MLflow database, ``service/keys.db`` (API keys), ``service/ratelimits.db`` (rate-limit windows)
and ``service/state.db`` (ingestion tickets). Each worker builds its own pipeline objects from the
same config (:func:`ragbench.config.build`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragbench.service.generation import GenerationRunner
from ragbench.service.ingest import Submissions
from ragbench.service.keys import KeyStore
from ragbench.service.models import Check, Readiness
from ragbench.service.ratelimit import TenantLimits
from ragbench.service.settings import ServiceSettings, service_dir


class ServiceState:
    """The served pipeline and its companions in one worker.

    Args:
        parts: Components built from the service's config.
        settings: How the service was started.
        keys: The API keys (``None`` for an open, loopback-only service).
        limits: Per-tenant rate limits.
        tracer: MLflow tracer (``None``: no traces).
        submissions: Ingestion tickets shared by the workers.
    """

    def __init__(
        self,
        parts: Any,
        settings: ServiceSettings,
        *,
        keys: KeyStore | None,
        limits: TenantLimits,
        tracer: Any,
        submissions: Submissions,
    ) -> None:
        self.parts = parts
        self.settings = settings
        self.keys = keys
        self.limits = limits
        self.tracer = tracer
        self.submissions = submissions
        self.runner = GenerationRunner(parts.generator, max_batch=settings.max_batch)
        self._jobs = None

    @classmethod
    def build(cls, settings: ServiceSettings) -> ServiceState:
        """Build the pipeline from ``settings.overrides`` and open the shared state under its home."""
        from ragbench.config import build, compose
        from ragbench.tracking.traces import Tracer

        parts = build(compose([*settings.overrides, "progress=false"]))
        folder = service_dir(parts.cfg.home)
        storage = settings.rate_limit_storage or f"ragbench+sqlite:///{folder / 'ratelimits.db'}"
        limits = TenantLimits(
            storage,
            requests=settings.requests_limit,
            tokens=settings.tokens_limit,
            settings=lambda tenant: tenant_settings(parts.store, tenant),
        )
        return cls(
            parts,
            settings,
            keys=None if settings.open else KeyStore(folder / "keys.db"),
            limits=limits,
            tracer=Tracer.from_tracker(
                parts.tracker, sample=settings.trace_sample, source="service", salt=settings.trace_salt
            ),
            submissions=Submissions(folder / "state.db"),
        )

    @property
    def home(self) -> Path:
        return Path(str(self.parts.cfg.home)).expanduser().resolve()

    @property
    def jobs(self):
        """The dashboard's ingestion queue (one writer thread per worker), created on first use."""
        if self._jobs is None:
            from ragbench.dashboard.jobs import JobManager

            self._jobs = JobManager(self.parts)
        return self._jobs

    def warm(self) -> None:
        """Load models and indexes before the first request: one retrieval, the generator's warm-up."""
        from ragbench.language import detect_language
        from ragbench.types import Query

        detect_language("Loading the language detector before the first question.")
        tenants = self.parts.store.tenants()
        if tenants:
            self.parts.retriever.retrieve([Query("warm up", tenants[0])], 1)
        if hasattr(self.parts.generator, "warmup"):
            self.parts.generator.warmup()

    def readiness(self) -> Readiness:
        """The store, the model (endpoint and circuit breaker, or the in-process engine), MLflow, the limits."""
        from ragbench.dashboard.health import probe_lancedb, probe_llm, probe_mlflow

        gen = self.parts.generator
        checks = [
            Check(**vars(h))
            for h in (probe_lancedb(self.parts.store), probe_llm(gen), probe_mlflow(self.parts.tracker))
        ]
        if hasattr(gen, "loaded"):  # an in-process engine: loaded now, or on the first generation-cache miss
            checks[1] = Check(
                service="LLM engine",
                ok=True,
                detail=f"{gen!r}: "
                + ("loaded" if gen.loaded else "loads on the first question that is not in the generation cache"),
            )
        checks.append(
            Check(service="rate limits", ok=self.limits.healthy(), detail=str(self.limits.storage.__class__.__name__))
        )
        ready = all(c.ok is not False for c in checks)
        return Readiness(status="ready" if ready else "unavailable", checks=checks)

    def visible_tenants(self, user: Any) -> list[str]:
        from ragbench.ingestion.tenants import list_tenants

        return user.visible(list_tenants(self.parts.store))

    def close(self) -> None:
        self.runner.close()
        if self._jobs is not None:
            self._jobs.close()
        if self.tracer is not None:
            self.tracer.flush()


def tenant_settings(store: Any, tenant: str) -> dict[str, Any]:
    """A tenant's settings (``{}`` for a tenant without a record)."""
    from ragbench.errors import TenantNotFoundError
    from ragbench.ingestion.tenants import tenant_settings_record

    try:
        return dict(tenant_settings_record(store, tenant).get("settings") or {})
    except TenantNotFoundError:
        return {}
