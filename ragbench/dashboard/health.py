"""Service health probes for the Monitor tab: LanceDB, the LLM endpoint, MLflow, GPU, tenants.

Each probe returns a :class:`Health` with ``ok`` and a one-line ``detail`` and never
raises: a failing service is shown as down, with its error, not as a crashed page.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Health:
    """The state of one service; ``ok`` is ``None`` when the service is not used."""

    service: str
    ok: bool | None
    detail: str
    ms: float = 0.0

    @property
    def label(self) -> str:
        return {True: "up", False: "DOWN", None: "not used"}[self.ok]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.label}


def _timed(service: str, fn) -> Health:
    start = time.perf_counter()
    try:
        ok, detail = fn()
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return Health(service, ok, detail, round((time.perf_counter() - start) * 1000, 1))


def probe_lancedb(store: Any) -> Health:
    def check():
        tenants = store.tenants()
        rows = sum(store.count(t) for t in tenants)
        return True, f"{len(tenants)} tenants, {rows} chunks at {store.uri}"

    return _timed("LanceDB", check)


def probe_llm(generator: Any, *, timeout: float = 2.0) -> Health:
    """Health of an OpenAI-compatible generator's server with its circuit-breaker state
    (:func:`ragbench.resilience.health.check_endpoint`); generators without ``base_url`` need no LLM."""
    base_url = getattr(generator, "base_url", None)
    if not base_url:
        return Health("LLM endpoint", None, f"{generator!r} needs no LLM endpoint")
    from ragbench.resilience.health import UP, check_endpoint

    guard = getattr(generator, "guard", None)
    breaker = getattr(guard, "breaker", None)
    try:
        h = check_endpoint(str(base_url), timeout_s=timeout, breaker=breaker)
    except Exception as exc:
        return Health("LLM endpoint", False, f"{base_url}: {type(exc).__name__}: {exc}")
    circuit = f"; circuit breaker {h.circuit}" if h.circuit else ""
    return Health(
        "LLM endpoint", h.status == UP, f"{base_url}: {h.status}, {h.detail}{circuit}", round(h.latency_ms or 0.0, 1)
    )


def probe_mlflow(tracker: Any) -> Health:
    uri = getattr(tracker, "tracking_uri", None)
    client = getattr(tracker, "client", None)
    if client is None:
        return Health("MLflow", None, f"{tracker!r} does not track runs")

    def check():
        exps = client.search_experiments(max_results=100)
        return True, f"{uri}: {len(exps)} experiment(s)"

    return _timed("MLflow", check)


_SMI_QUERY = "--query-gpu=index,name,utilization.gpu,memory.used,memory.total"


def _gpu_from_smi(smi: str, timeout: float = 3.0) -> Health:
    """GPU use from ``nvidia-smi`` (CSV, no units) when NVML cannot be read from Python."""
    import subprocess

    from ragbench.telemetry import readings_from_smi

    def check():
        out = subprocess.run(
            [smi, _SMI_QUERY, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
        return True, "; ".join(r.describe() for r in readings_from_smi(out)) or "no GPUs"

    return _timed("GPU", check)


def probe_gpu(nvml: Any = None) -> Health:
    """GPU use through NVML (:mod:`ragbench.telemetry`; ``nvml``: the pynvml module, or a recorded one in
    tests), else ``nvidia-smi``; 'not used' without either."""
    import shutil

    from ragbench.telemetry import GpuUnavailable, gpu_snapshot

    start = time.perf_counter()
    try:
        readings = gpu_snapshot(nvml)
    except GpuUnavailable as exc:
        smi = shutil.which("nvidia-smi")
        if smi is None:
            return Health("GPU", None, f"no GPU ({exc}; no nvidia-smi found)")
        return _gpu_from_smi(smi)
    except Exception as exc:
        return Health("GPU", False, f"NVML: {type(exc).__name__}: {exc}")
    ms = round((time.perf_counter() - start) * 1000, 1)
    return Health("GPU", True, "; ".join(r.describe() for r in readings), ms)


def tenant_counts(store: Any, tenants: Sequence[str]) -> list[dict[str, Any]]:
    """Documents and chunks per tenant (documents counted from chunk ids ``<doc_id>#<position>``)."""
    rows = []
    for tenant in tenants:
        ids = store.chunk_hashes(tenant)
        rows.append({"tenant": tenant, "documents": len({c.rsplit("#", 1)[0] for c in ids}), "chunks": len(ids)})
    return rows


def probe_all(parts: Any, *, generators: Sequence[Any] = ()) -> list[Health]:
    """Every probe, in the order the Monitor tab shows them; one LLM row per distinct endpoint.

    ``generators`` adds the presets' generators to the base config's one.
    """
    llm, seen = [], set()
    for gen in [parts.generator, *generators]:
        key = getattr(gen, "base_url", None) or repr(gen)
        if key not in seen:
            seen.add(key)
            llm.append(probe_llm(gen))
    return [probe_lancedb(parts.store), *llm, probe_mlflow(parts.tracker), probe_gpu()]
