"""Conversation history per user and tenant, persisted in sqlite under the dashboard's home.

Each turn holds the question, the answer, its sources and stage timings. A new
connection per call keeps it safe across the server's threads.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.pipelines.conversation import follow_up  # the rule the query API uses too
from ragbench.tenancy import validate_tenant_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    tenant TEXT NOT NULL,
    ts REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_user_tenant ON turns(user, tenant, id);
"""


@dataclass
class Turn:
    """One question and its answer; ``payload`` holds sources, timings, preset and error."""

    user: str
    tenant: str
    question: str
    answer: str
    payload: dict[str, Any] = field(default_factory=dict)
    ts: float = 0.0
    id: int | None = None


class ConversationStore:
    """Append and read turns of a user's conversation with one tenant.

    Example:
        >>> import tempfile, os
        >>> store = ConversationStore(os.path.join(tempfile.mkdtemp(), "h.db"))
        >>> _ = store.append(Turn("alice", "acme", "Hi?", "Hello."))
        >>> [t.answer for t in store.turns("alice", "acme")]
        ['Hello.']
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def append(self, turn: Turn) -> Turn:
        """Store ``turn`` (parameterised SQL only) and return it with its id and timestamp."""
        validate_tenant_id(turn.tenant)
        turn.ts = turn.ts or time.time()
        with closing(self._connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO turns (user, tenant, ts, question, answer, payload) VALUES (?, ?, ?, ?, ?, ?)",
                (turn.user, turn.tenant, turn.ts, turn.question, turn.answer, json.dumps(turn.payload, default=str)),
            )
            turn.id = cur.lastrowid
        return turn

    def turns(self, user: str, tenant: str, *, limit: int = 50) -> list[Turn]:
        """The last ``limit`` turns of ``user`` with ``tenant``, oldest first."""
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT id, user, tenant, ts, question, answer, payload FROM turns "
                "WHERE user = ? AND tenant = ? ORDER BY id DESC LIMIT ?",
                (user, tenant, int(limit)),
            ).fetchall()
        return [
            Turn(user=u, tenant=t, question=q, answer=a, payload=json.loads(p), ts=ts, id=i)
            for i, u, t, ts, q, a, p in reversed(rows)
        ]

    def clear(self, user: str, tenant: str) -> int:
        """Delete the conversation of ``user`` with ``tenant``; returns the number of turns removed."""
        with closing(self._connect()) as conn, conn:
            return conn.execute("DELETE FROM turns WHERE user = ? AND tenant = ?", (user, tenant)).rowcount


def contextualize(question: str, history: list[Turn]) -> str:
    """The retrieval query for ``question`` in a conversation.

    A follow-up (a short question, or one that starts like "and ...", "what about ...")
    is searched together with the previous question, so "And for contractors?" after
    "How many vacation days do employees get?" still finds the vacation policy.

    Example:
        >>> contextualize("And for contractors?", [Turn("u", "t", "How many vacation days?", "25.")])
        'How many vacation days? And for contractors?'
    """
    return follow_up(question, history[-1].question if history else None)
