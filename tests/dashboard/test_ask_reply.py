"""One answer of the Ask chat (``ragbench.dashboard.views_ask.Reply``): the streamed text shown as plain escaped
text, the final answer rendered as Markdown with raw HTML escaped, the stage line and the sources card."""

from __future__ import annotations

from ragbench.dashboard.service import AskEvent
from ragbench.dashboard.views_ask import Reply
from ragbench.schema import QueryResponse, Source, StageTimings

HOSTILE = "The **loft** is on the roof <img src=x onerror=alert(1)>."


def _response(answer: str, *, trace=None) -> QueryResponse:
    source = Source(doc_id="acme-030", chunk_id="acme-030#0", title="Loft", text=HOSTILE, score=0.5, rank=0, cited=True)
    return QueryResponse(
        tenant="acme-robotics",
        question="Where is the loft?",
        answer=answer,
        sources=[source],
        timings=StageTimings(retrieve_ms=12.5, generate_ms=80.25, total_ms=92.75),
        trace=trace,
    )


def test_streamed_text_is_plain_then_the_answer_is_escaped_markdown_with_its_sources():
    reply = Reply()
    reply.show(AskEvent("token", text="The **lo"))  # half a Markdown mark: shown as typed, not as bold
    assert reply.answer.object == '<div class="rb-answer rb-streaming">The **lo</div>'
    reply.show(AskEvent("token", text=HOSTILE))
    assert "&lt;img src=x onerror=alert(1)&gt;" in reply.answer.object and "<img" not in reply.answer.object
    assert not reply.card.visible  # no sources before retrieval
    reply.show(AskEvent("answered", response=_response(HOSTILE)))
    assert reply.answer.object == (
        '<div class="rb-answer"><p>The <strong>loft</strong> is on the roof &lt;img src=x onerror=alert(1)&gt;.</p>\n'
        "</div>"
    )
    assert reply.stage.object.startswith('<span class="rb-stage rb-done">Done: retrieve 12.5 ms · generate 80.2 ms')
    assert reply.card.visible and reply.card.title == "Sources (1)"
    assert 'class="rb-cited"' in reply.sources.object and "<img" not in reply.sources.object


def test_a_follow_up_shows_what_was_searched_and_a_failure_says_why():
    reply = Reply()
    reply.show(
        AskEvent("answered", response=_response("", trace={"notes": {"standalone": "Where is the loft? How high?"}}))
    )
    assert '<span class="rb-standalone">Searched for: Where is the loft? How high?</span>' in reply.stage.object
    assert "<i>(no answer)</i>" in reply.answer.object
    failed = Reply()
    failed.fail("Access denied: alice may not access tenant 'harbor-health'", denied=True)
    assert failed.stage.object == (
        '<span class="rb-stage rb-error rb-denied">Access denied: alice may not access tenant &#x27;harbor-health&#x27;</span>'
    )


def test_the_done_stage_is_shown_only_after_the_final_answer_and_its_sources():
    """Each change reaches the browser as its own message, in the order it was made: a page (or a test) that
    waits for "done" must find the streamed text already replaced (a CI run once saw "done" beside it)."""
    reply = Reply()
    reply.show(AskEvent("token", text="The **lo"))
    changes: list[str] = []
    reply.answer.param.watch(lambda e: changes.append("streaming" if "rb-streaming" in e.new else "answer"), "object")
    reply.sources.param.watch(lambda e: changes.append("sources"), "object")
    reply.stage.param.watch(lambda e: changes.append("done" if "rb-done" in e.new else "stage"), "object")
    reply.show(AskEvent("answered", response=_response(HOSTILE)))
    assert changes == ["answer", "sources", "done"]
