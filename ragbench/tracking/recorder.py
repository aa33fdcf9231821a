"""A tracker that records what a run logs, to be replayed into the real tracker by another process.

A sweep's trials on Ray (:mod:`ragbench.evaluation._ray_sweep`) run in worker processes; MLflow's
sqlite backend takes one writer, so the workers never open it. Each trial logs into a
:class:`RecordingTracker`; the driver replays the calls into its own tracker, in order, into the
child run it created for the trial before dispatching it (:meth:`RecordingTracker.replay`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class RecordingTracker:
    """Records tracker calls (plain, picklable data) instead of sending them anywhere.

    Args:
        run_id: The id :meth:`start_run` yields: the driver's pre-created child run, so the run's
            checkpoint folder (``<home>/runs/<run id>``) is named after its MLflow run.

    Example:
        >>> rec = RecordingTracker("abc")
        >>> with rec.start_run(run_name="demo", tags={"dataset": "demo"}) as run_id:
        ...     rec.log_metrics({"ndcg@10": 0.5})
        >>> run_id, rec.run_name, rec.status, rec.calls[0][0]
        ('abc', 'demo', 'FINISHED', 'log_metrics')
    """

    tracking_uri: str | None = None  # no MLflow here: no traces, no system-metrics monitor

    def __init__(self, run_id: str | None) -> None:
        self._reserved = run_id
        self.run_id: str | None = None
        self.run_name: str | None = None
        self.tags: dict[str, str] = {}
        self.status: str | None = None  # None: no run was started
        self.calls: list[tuple[str, tuple, dict]] = []

    @contextmanager
    def start_run(
        self,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> Iterator[str | None]:
        self.run_name, self.tags, self.status = run_name, dict(tags or {}), "RUNNING"
        self.run_id = self._reserved
        try:
            yield self.run_id
        except BaseException:
            self.status = "FAILED"
            raise
        self.status = "FINISHED"

    def _record(self, method: str, /, *args: Any, **kwargs: Any) -> None:
        self.calls.append((method, args, kwargs))

    def log_config(self, config: Mapping[str, Any]) -> None:
        self._record("log_config", dict(config))

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self._record("log_metrics", dict(metrics))

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._record("log_params", dict(params))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._record("set_tags", dict(tags))

    def log_series(self, series: Mapping[str, Sequence[tuple[int, float, float]]]) -> None:
        self._record("log_series", {k: list(v) for k, v in series.items()})

    def log_table(self, rows: list[dict], name: str) -> None:
        self._record("log_table", list(rows), name)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Recorded with the file's bytes: on a cluster the driver cannot read the worker's files."""
        self._record("_artifact", Path(path).name, Path(path).read_bytes(), artifact_path)

    def log_input(self, frame, *, name: str, context: str = "evaluation") -> str | None:
        self._record("log_input", frame, name=name, context=context)
        return None

    def log_figure(self, figure, artifact_file: str) -> None:
        """Recorded as PNG bytes (what MLflow stores for a figure), not as a live matplotlib object."""
        import io

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        path = Path(artifact_file)
        self._record("_artifact", path.name, buffer.getvalue(), str(path.parent) if path.parent.parts else None)

    def mark_killed(self, run_id: str, *, reason: str = "") -> bool:
        self._record("mark_killed", run_id, reason=reason)
        return False

    def replay(self, tracker: Any) -> None:
        """Log everything recorded into ``tracker``'s run :attr:`run_id` (reserved by the driver), with the
        run's name and tags, and end it with the recorded status (FINISHED, or FAILED)."""
        marks = [c for c in self.calls if c[0] == "mark_killed"]  # about other (dead) runs: outside this one
        for _, args, kwargs in marks:
            tracker.mark_killed(*args, **kwargs)
        if self.status is None or self.run_id is None:
            return
        client = getattr(tracker, "client", None)
        with tracker.start_run(run_id=self.run_id):
            if client is not None and self.run_name:
                client.update_run(self.run_id, name=self.run_name)
            if self.tags:
                tracker.set_tags(self.tags)
            for name, args, kwargs in self.calls:
                if name == "_artifact":
                    _log_bytes(tracker, *args)
                elif name != "mark_killed":
                    getattr(tracker, name)(*args, **kwargs)
        if self.status != "FINISHED" and client is not None:
            client.set_terminated(self.run_id, status=self.status)


def _log_bytes(tracker: Any, filename: str, data: bytes, artifact_path: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_bytes(data)
        tracker.log_artifact(path, artifact_path)
