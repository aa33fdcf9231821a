"""Per-question checkpoints: each result is appended to a JSONL file as soon as it is scored.

A run's folder is ``<home>/runs/<run id>/`` and holds ``results.jsonl`` (one line per
finished question, flushed and fsynced), ``config.json`` with the config fingerprint and the
process running it (pid, host), and ``DONE`` once the run has completed. An interrupted run
(even ``kill -9``) loses at most the question being answered; a torn last line is ignored on load.
A later run that finds a folder without ``DONE`` whose process is gone marks it killed
(:func:`mark_killed_runs`: ``KILLED`` in the folder, status KILLED in MLflow) and says how to resume it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ragbench._process import owner_dead, process_owner
from ragbench.errors import ConfigError
from ragbench.types import Answer, Hit, MethodTrace, QuestionResult, Sample, content_hash

# Config keys that do not change results, so a resumed run may differ in them.
VOLATILE_KEYS = ("resume", "progress", "run_name", "home", "tracking", "trace_sample")


def result_to_json(result: QuestionResult) -> dict[str, Any]:
    """A JSON-ready dict holding everything needed to rebuild ``result``."""
    return {
        "sample": asdict(result.sample),
        "hits": [asdict(h) for h in result.hits],
        "answer": asdict(result.answer) if result.answer is not None else None,
        "metrics": result.metrics,
        "metric_errors": result.metric_errors,
        "timings_ms": result.timings_ms,
        "detected_language": result.detected_language,
        "trace": asdict(result.trace) if result.trace is not None else None,
    }


def result_from_json(data: Mapping[str, Any]) -> QuestionResult:
    """Rebuild a :class:`QuestionResult` written by :func:`result_to_json`."""
    sample = dict(data["sample"])
    sample["answers"] = tuple(sample.get("answers") or ())
    sample["history"] = tuple((str(q), str(a)) for q, a in sample.get("history") or ())
    answer = dict(data["answer"]) if data.get("answer") is not None else None
    if answer is not None:
        answer["citations"] = tuple(answer.get("citations") or ())
    return QuestionResult(
        sample=Sample(**sample),
        hits=[Hit(**h) for h in data.get("hits", [])],
        answer=Answer(**answer) if answer is not None else None,
        metrics=dict(data.get("metrics") or {}),
        timings_ms=dict(data.get("timings_ms") or {}),
        metric_errors=dict(data.get("metric_errors") or {}),
        detected_language=data.get("detected_language"),
        trace=MethodTrace(**data["trace"]) if data.get("trace") else None,
    )


def config_fingerprint(config: Mapping[str, Any]) -> str:
    """Hash of the resolved config without :data:`VOLATILE_KEYS` (what must match to resume)."""
    stable = {k: v for k, v in config.items() if k not in VOLATILE_KEYS}
    return content_hash(json.dumps(stable, sort_keys=True, default=str))


class Checkpoint:
    """Append-only per-question results of one run.

    Example:
        >>> ck = Checkpoint("/tmp/rb/runs/abc", fingerprint="f00")  # doctest: +SKIP
        >>> ck.append(result); ck.load().keys()  # doctest: +SKIP
        dict_keys(['q1'])
    """

    def __init__(self, folder: str | Path, *, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.path = self.folder / "results.jsonl"
        self._fh = None

    @property
    def run_id(self) -> str:
        return self.folder.name

    @property
    def done(self) -> bool:
        return (self.folder / "DONE").exists()

    def open(self, *, run_id: str | None = None, resuming: bool = False) -> Checkpoint:
        """Create the folder (or check, when ``resuming``, that it belongs to the same config)."""
        meta_path = self.folder / "config.json"
        if resuming:
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            if meta.get("fingerprint") != self.fingerprint:
                raise ConfigError(
                    f"Cannot resume run {self.run_id!r}: its configuration differs from this one "
                    f"(fingerprint {meta.get('fingerprint')!r} vs {self.fingerprint!r}). Resume with the "
                    "same overrides the run was started with, or start a new run without resume."
                )
            run_id = meta.get("run_id")
            (self.folder / "KILLED").unlink(missing_ok=True)  # it runs again
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "fingerprint": self.fingerprint,
            "run_id": run_id or self.run_id,
            **process_owner(),
            "started_at": time.time(),
        }
        tmp = meta_path.with_name(f".config.json.{os.getpid()}")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, meta_path)  # atomic: a kill never leaves a torn config (the run stays resumable)
        return self

    def load(self) -> dict[str, QuestionResult]:
        """Finished results by question id; a torn (partly written) last line is dropped."""
        out: dict[str, QuestionResult] = {}
        if not self.path.exists():
            return out
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    result = result_from_json(json.loads(line))
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # torn write of an interrupted run: that question is answered again
                out[result.sample.id] = result
        return out

    def append(self, result: QuestionResult) -> None:
        """Write one finished question durably (flush and fsync) before the next starts."""
        if self._fh is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
            if self._fh.tell() and not self._ends_with_newline():
                self._fh.write("\n")  # after a torn line, start a fresh one
        self._fh.write(json.dumps(result_to_json(result), sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"

    def finish(self) -> None:
        self.close()
        (self.folder / "DONE").write_text("done\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def find_resumable(runs_dir: str | Path, fingerprint: str) -> Path | None:
    """The newest unfinished run folder under ``runs_dir`` made with the same config, if any."""
    runs = Path(runs_dir)
    if not runs.is_dir():
        return None
    candidates = []
    for folder in runs.iterdir():
        meta = folder / "config.json"
        if folder.is_dir() and meta.exists() and not (folder / "DONE").exists():
            if json.loads(meta.read_text()).get("fingerprint") == fingerprint:
                candidates.append((meta.stat().st_mtime, folder))
    return max(candidates)[1] if candidates else None


def _killed(folder: Path) -> dict | None:
    """The folder's ``config.json`` if it is an unfinished, unmarked run whose process is gone."""
    meta_path = folder / "config.json"
    if not folder.is_dir() or not meta_path.exists() or (folder / "DONE").exists() or (folder / "KILLED").exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    return meta if owner_dead(meta) else None


def mark_killed_runs(runs_dir: str | Path, *, tracker=None, keep: Path | None = None) -> list[str]:
    """Mark unfinished runs under ``runs_dir`` whose process died (``kill -9``, OOM, power loss).

    Each gets a ``KILLED`` file in its folder and, when ``tracker`` knows the run and it is still
    RUNNING there, the MLflow status KILLED; a notice saying how to resume it is printed to stderr
    and returned. ``keep`` (the run being resumed now) is left alone. Runs of live processes, of
    other hosts, or recorded before pids were kept are never touched.

    Example:
        >>> mark_killed_runs(".ragbench/runs", tracker=tracker)  # doctest: +SKIP
        ['ragbench: run 3f2a... was killed (process 4121 on vm is gone; 12 questions finished) ...']
    """
    runs = Path(runs_dir)
    notices = []
    for folder in sorted(runs.iterdir()) if runs.is_dir() else []:
        if (keep is not None and folder.resolve() == Path(keep).resolve()) or (meta := _killed(folder)) is None:
            continue
        run_id = meta.get("run_id") or folder.name
        mark = getattr(tracker, "mark_killed", None)
        marked = bool(mark(run_id, reason=f"process {meta['pid']} on {meta['host']} is gone")) if mark else False
        path = folder / "results.jsonl"
        finished = path.read_bytes().count(b"\n") if path.exists() else 0
        notice = (
            f"ragbench: run {run_id} was killed (process {meta['pid']} on {meta['host']} is gone; {finished} questions "
            f"finished{'; marked KILLED in MLflow' if marked else ''}). Resume it with the overrides it was started "
            f"with plus resume={run_id} (e.g. `ragbench run <overrides> resume={run_id}`), or resume=true."
        )
        (folder / "KILLED").write_text(notice + "\n")
        print(notice, file=sys.stderr)
        notices.append(notice)
    return notices
