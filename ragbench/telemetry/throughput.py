"""Per-stage throughput (counts over seconds) and the JSON sink that stands in for MLflow."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

Series = Mapping[str, Sequence[tuple[int, float, float]]]  # name -> [(step, epoch seconds, value)]


class Throughput:
    """Seconds and counts per stage; each count also as a rate: ``throughput.<stage>.<unit>_per_s``.

    Example:
        >>> t = Throughput()
        >>> t.add("generate", 2.0, prompt_tokens=1000, output_tokens=100)
        >>> t.metrics()["throughput.generate.output_tokens_per_s"]
        50.0
    """

    def __init__(self) -> None:
        self._stages: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()
        self._paused = 0

    def add(self, stage: str, seconds: float, **counts: float) -> None:
        with self._lock:
            acc = self._stages.setdefault(stage, {"seconds": 0.0})
            acc["seconds"] += seconds
            for unit, n in counts.items():
                acc[unit] = acc.get(unit, 0.0) + n

    @contextmanager
    def timed(self, stage: str) -> Iterator[dict[str, float]]:
        """Time the block; fill the yielded dict with its counts (recorded only if the block succeeds)."""
        counts: dict[str, float] = {}
        start = time.perf_counter()
        yield counts
        self.add(stage, time.perf_counter() - start, **counts)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Watched calls inside the block are not counted (e.g. a model warm-up: not the run's work)."""
        with self._lock:
            self._paused += 1
        try:
            yield
        finally:
            with self._lock:
                self._paused -= 1

    @contextmanager
    def watch(self, embedder: Any) -> Iterator[None]:
        """Time and count the texts of every call of ``embedder`` while the block runs.

        Stages ``embed_documents`` and ``embed_queries``, unit ``texts`` (embedders do not report
        token counts; ``bench/gpu_check.py`` measures tokens/s). BGE-M3's ``encode_*`` methods are
        watched instead of its ``embed_*`` ones, which call them. Objects without an instance
        ``__dict__`` are not watched.
        """
        both = hasattr(embedder, "encode_documents") and hasattr(embedder, "encode_queries")
        names = ("encode_documents", "encode_queries") if both else ("embed_documents", "embed_queries")
        patched = []
        for name in names:
            method = getattr(embedder, name, None)
            own = getattr(embedder, "__dict__", None)
            if method is None or own is None:
                continue
            patched.append((name, name in own, own.get(name)))
            setattr(embedder, name, self._timed_call(method, "embed_" + name.split("_", 1)[1]))
        try:
            yield
        finally:
            for name, had, old in reversed(patched):
                if had:
                    setattr(embedder, name, old)
                else:
                    delattr(embedder, name)

    def _timed_call(self, method, stage: str):
        def call(texts, *args, **kwargs):
            start = time.perf_counter()
            out = method(texts, *args, **kwargs)
            if self._paused:
                return out
            self.add(stage, time.perf_counter() - start, texts=len(texts))
            return out

        return call

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with self._lock:
            stages = {k: dict(v) for k, v in self._stages.items()}
        for stage, acc in sorted(stages.items()):
            seconds = acc.pop("seconds")
            out[f"throughput.{stage}.seconds"] = seconds
            for unit, n in acc.items():
                out[f"throughput.{stage}.{unit}"] = n
                if seconds > 0 and n > 0:
                    out[f"throughput.{stage}.{unit}_per_s"] = n / seconds
        return out


class TelemetrySink(Protocol):
    """Where telemetry goes: :class:`JsonSink` and :class:`ragbench.tracking.mlflow.MLflowTracker`."""

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float]) -> None: ...

    def log_series(self, series: Series) -> None: ...


class JsonSink:
    """Telemetry as one JSON file ``{"params", "tags", "metrics", "series", ...}``, rewritten
    atomically on every call, so a killed process still leaves what it had logged.

    Args:
        path: The file to write.
        **fields: Extra top-level fields (e.g. ``status``); :meth:`set` changes them later.
    """

    def __init__(self, path: str | Path, **fields: Any) -> None:
        self.path = Path(path)
        self.data: dict[str, Any] = {"params": {}, "tags": {}, "metrics": {}, "series": {}, **fields}

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.data["params"].update({k: str(v) for k, v in params.items()})
        self.write()

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.data["tags"].update({k: str(v) for k, v in tags.items()})
        self.write()

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self.data["metrics"].update({k: float(v) for k, v in metrics.items() if v is not None and v == v})
        self.write()

    def log_series(self, series: Series) -> None:
        self.data["series"].update({k: [list(p) for p in v] for k, v in series.items()})
        self.write()

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.write()

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path)
