"""A persistent call cache: answers of expensive model calls keyed on everything that decides them.

SQLite in WAL mode: safe for concurrent readers and writers (processes included), survives
``kill -9`` (an entry exists only once its transaction committed). Only successful answers are
stored, so a failure (timeout, refused connection) is retried on the next run. The judge
(:mod:`ragbench.judge`) and the LLM generators (:mod:`ragbench.generators.cache`)
both keep their calls here, each in its own file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ragbench.types import content_hash


def cache_key(model: str, prompt: str, settings: Mapping[str, Any]) -> str:
    """Stable key of one call: the model (with its revision), the exact prompt and every setting.

    Example:
        >>> cache_key("m", "p", {"temperature": 0}) == cache_key("m", "p", {"temperature": 0})
        True
        >>> cache_key("m", "p", {"seed": 0}) == cache_key("m", "p", {"seed": 1})
        False
    """
    return content_hash(model, prompt, json.dumps(dict(settings), sort_keys=True, default=str), length=32)


class CallCache:
    """``get``/``put`` of text answers in ``<folder>/<filename>``; counts hits and misses.

    Example:
        >>> cache = CallCache("/tmp/rb-cache", "calls.sqlite")  # doctest: +SKIP
        >>> cache.put("k", "{}"); cache.get("k")  # doctest: +SKIP
        '{}'
    """

    def __init__(self, folder: str | Path, filename: str) -> None:
        self.path = Path(folder).expanduser() / filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, model TEXT, answer TEXT)")
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT answer FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return row[0]

    def put(self, key: str, answer: str, *, model: str = "") -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO calls (key, model, answer) VALUES (?, ?, ?)", (key, model, answer))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"
