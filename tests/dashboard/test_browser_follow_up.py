"""A follow-up in the dashboard's Ask, in headless Chromium: "How much is one?" only finds its answer with the
conversation before it. The served dashboard's presets use the extractive generator (no LLM), so the
conversational module condenses by concatenation (LLM condensing: tests/methods/test_real_model.py)."""

from __future__ import annotations

import pytest

from tests.dashboard.test_browser import TIMEOUT_MS, _ask

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIRST = "Can patients see a Harbor doctor by video?"
FOLLOW_UP = "How much is one?"  # conv-en-10 of datasets/conversations: the telehealth price, harbor-030


def _clear(page) -> None:
    """ChatInterface's Clear: empties the chat and the stored conversation (the note says it is empty)."""
    page.get_by_role("button", name="Clear", exact=True).click()
    page.locator(".rb-history-empty").wait_for()
    assert page.locator(".rb-reply").count() == 0


def test_a_follow_up_is_answered_with_the_conversation(browser, dashboard_url, artifacts):
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.goto(f"{dashboard_url}/")
    page.fill("input[name=username]", "hank")
    page.fill("input[name=password]", "hank-pw")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Signed in as")
    _clear(page)
    alone = _ask(page, FOLLOW_UP)  # asked first, with no conversation: the question alone misses the price
    assert page.locator(".rb-history-empty").count() == 0  # the note went with the first question
    assert "harbor-030" not in alone.locator(".rb-doc-id").all_inner_texts()
    assert alone.locator(".rb-standalone").count() == 0  # nothing to condense
    _clear(page)
    _ask(page, FIRST)
    reply = _ask(page, FOLLOW_UP)
    searched = reply.locator(".rb-standalone").inner_text()
    page.screenshot(path=artifacts / "ask_follow_up.png", full_page=True)
    doc_ids = reply.locator(".rb-doc-id").all_inner_texts()
    ctx.close()
    assert searched == f"Searched for: {FIRST} {FOLLOW_UP}"
    assert doc_ids[0] == "harbor-030" and all(d.startswith("harbor-") for d in doc_ids)
