"""The low-confidence marker: the rule on the packaged MiniLM, and the service and Ask view on a real
store (LanceDB, hybrid retrieval) answering an on-topic and an off-topic question."""

from __future__ import annotations

import time

import pytest

from ragbench.dashboard.relevance import assess, check_min_relevance
from ragbench.errors import ConfigError
from ragbench.schema import QueryRequest
from ragbench.types import Hit

LOCKERS = "Every Brennholt employee gets a green locker on the second floor next to the canteen."


def _hit(text: str) -> Hit:
    return Hit("c1#0", "c1", "acme", text, 0.5)


def test_rule_marks_off_topic_and_empty_retrievals(minilm):
    on = assess(minilm, "Where are the employee lockers?", [_hit(LOCKERS)], min_relevance=0.35)
    off = assess(minilm, "How do I bake sourdough bread?", [_hit(LOCKERS)], min_relevance=0.35)
    assert not on.low and on.score > 0.35 and on.reason == ""
    assert off.low and off.score < 0.35 and f"similarity {off.score:.2f}, below 0.35" in off.reason
    assert assess(minilm, "Where are the lockers?", [], min_relevance=0.35).reason == "no sources were retrieved"
    # no embedder (a lexical-only dashboard): only the no-sources half of the rule applies
    assert assess(None, "anything", [_hit(LOCKERS)], min_relevance=0.35).low is False
    assert assess(minilm, "Where are the employee lockers?", [_hit(LOCKERS)], min_relevance=0.99).low
    with pytest.raises(ConfigError, match=r"between 0 and 1 .*got 35"):
        check_min_relevance(35)


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    from ragbench.config import build, compose
    from ragbench.dashboard.history import ConversationStore
    from ragbench.dashboard.service import DashboardService

    home = tmp_path_factory.mktemp("relevance") / "home"
    overrides = [f"home={home}", "progress=false", "generator=extractive", "retriever=hybrid"]
    parts = build(compose(overrides))
    service = DashboardService(
        parts, users=None, history=ConversationStore(home / "h.db"), presets={"default": []}, base_overrides=overrides
    )
    files = [
        ("lockers.md", f"# Lockers\n\n{LOCKERS}".encode()),
        ("parking.md", b"# Parking\n\nVisitors park in lot C; staff park in the underground garage."),
        ("badges.md", b"# Badges\n\nLost badges are replaced by reception within one working day."),
    ]
    sub = service.jobs.submit_files("acme", files, user="root")
    while sub.state in ("queued", "running"):
        time.sleep(0.1)
    assert sub.state == "finished", sub.error
    yield service
    service.close()


def test_service_and_ask_view_mark_an_off_topic_answer(svc):
    from ragbench.dashboard.auth import LOCAL_ADMIN
    from ragbench.dashboard.service import AskEvent
    from ragbench.dashboard.views import AskView
    from ragbench.dashboard.views_ask import Reply

    on = svc.ask(LOCAL_ADMIN, QueryRequest(question="Where are the employee lockers?", tenant="acme"), remember=False)
    assert on.low_confidence is None and on.relevance > svc.min_relevance and "green locker" in on.answer
    off = svc.ask(LOCAL_ADMIN, QueryRequest(question="How do I bake sourdough bread at home?", tenant="acme"))
    assert off.sources and off.relevance < svc.min_relevance  # 3 chunks retrieved, none about bread
    assert off.low_confidence.startswith(f"the best source matches the question with similarity {off.relevance:.2f}")
    [turn] = svc.history.turns("local", "acme")[-1:]
    assert turn.payload["low_confidence"] == off.low_confidence  # the conversation keeps the marker
    # the Ask view's reply shows the marker above the answer, and only for the off-topic one
    view = AskView(svc, LOCAL_ADMIN)  # the chat is rebuilt from the stored conversation: the off-topic turn
    [restored] = [m for m in view.chat.objects if "rb-restored" in m.css_classes]
    assert "Low confidence</b>" in restored.object.object
    reply = Reply()
    reply.show(AskEvent("answered", response=off))
    assert 'class="rb-low-confidence"' in reply.answer.object and "Low confidence</b> (relevance" in reply.answer.object
    reply.show(AskEvent("answered", response=on))
    assert "rb-low-confidence" not in reply.answer.object
