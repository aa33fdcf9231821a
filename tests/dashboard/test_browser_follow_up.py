"""A follow-up in the dashboard's Ask, in headless Chromium: "How much is one?" only finds its answer with the
conversation before it. The served dashboard's presets use the extractive generator (no LLM), so the
conversational module condenses by concatenation (LLM condensing: tests/methods/test_real_model.py)."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION_PLACEHOLDER = "Ask a question about this tenant's documents"
FIRST = "Can patients see a Harbor doctor by video?"
FOLLOW_UP = "How much is one?"  # conv-en-10 of datasets/conversations: the telehealth price, harbor-030


def _ask(page, question: str) -> None:
    before = page.locator(".rb-turn").count()
    page.get_by_placeholder(QUESTION_PLACEHOLDER).fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    deadline = time.monotonic() + 90
    while page.locator(".rb-turn").count() <= before:  # the turn is added when the answer is in (locators see
        assert time.monotonic() < deadline, f"no answer to {question!r}"  # into Panel's shadow DOM)
        page.wait_for_timeout(100)
    page.wait_for_selector(".rb-stage.rb-done")


def test_a_follow_up_is_answered_with_the_conversation(browser, dashboard_url, artifacts):
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    ctx.set_default_timeout(90_000)
    page = ctx.new_page()
    page.goto(f"{dashboard_url}/")
    page.fill("input[name=username]", "hank")
    page.fill("input[name=password]", "hank-pw")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Signed in as")
    page.get_by_role("button", name="Clear history").click()
    page.wait_for_selector(".rb-history-empty")
    _ask(page, FOLLOW_UP)  # asked first, with no conversation: the question alone misses the price
    assert "harbor-030" not in page.locator(".rb-doc-id").all_inner_texts()
    assert page.locator(".rb-standalone").count() == 0  # nothing to condense
    page.get_by_role("button", name="Clear history").click()
    page.wait_for_selector(".rb-history-empty")
    _ask(page, FIRST)
    _ask(page, FOLLOW_UP)
    searched = page.inner_text(".rb-standalone")
    page.screenshot(path=artifacts / "ask_follow_up.png", full_page=True)
    doc_ids = page.locator(".rb-doc-id").all_inner_texts()
    ctx.close()
    assert searched == f"Searched for: {FIRST} {FOLLOW_UP}"
    assert doc_ids[0] == "harbor-030" and all(d.startswith("harbor-") for d in doc_ids)
