"""Conversation history: persisted per user and tenant (follow-ups: tests/dashboard/test_service.py)."""

from __future__ import annotations

from ragbench.dashboard.history import ConversationStore, Turn


def test_turns_are_persisted_per_user_and_tenant(tmp_path):
    path = tmp_path / "h.db"
    store = ConversationStore(path)
    store.append(Turn("alice", "acme", "Q1", "A1", {"preset": "default"}))
    store.append(Turn("alice", "acme", "Q2", "A2"))
    store.append(Turn("alice", "harbor", "QH", "AH"))
    store.append(Turn("bob'; DROP TABLE turns; --", "acme", "QB", "AB"))
    reopened = ConversationStore(path)  # a new process sees the same history
    turns = reopened.turns("alice", "acme")
    assert [(t.question, t.answer) for t in turns] == [("Q1", "A1"), ("Q2", "A2")]
    assert turns[0].payload == {"preset": "default"} and turns[0].id < turns[1].id
    assert [t.question for t in reopened.turns("bob'; DROP TABLE turns; --", "acme")] == ["QB"]
    assert [t.question for t in reopened.turns("alice", "acme", limit=1)] == ["Q2"]
    assert reopened.clear("alice", "acme") == 2
    assert reopened.turns("alice", "acme") == [] and len(reopened.turns("alice", "harbor")) == 1
