"""The page layout in headless Chromium: a Panel template (title bar, a sidebar with the signed-in user and
the Ask pickers, the tabs in the main area), everything served by the dashboard itself (no outside
requests), a readable answer and sources as titled cards with their Markdown rendered.
Screenshots go to test-artifacts/screenshots/ for review."""

from __future__ import annotations

import json

import pytest

from tests.dashboard.test_browser import _ask, _sign_in, _tab
from tests.dashboard.test_browser_documents import _upload

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECORD = {
    "id": "bikes",  # no title: the card is titled by the uploaded file and record
    "language": "en",
    "text": "The **Brennholt bike cellar** is behind the *blue door* next to the loading dock. It opens at 6:00.",
}


def test_template_sidebar_readable_answer_and_source_cards(browser, dashboard_url, artifacts, tmp_path):
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.reload()
    page.wait_for_selector("text=Signed in as")
    assert page.inner_text("#header .title").strip() == "ragbench"  # the template's title bar
    assert "Signed in as alice (user)" in page.locator("#sidebar").get_by_text("Signed in as").inner_text()
    assert page.locator("#sidebar .rb-ask-tenant select option").all_inner_texts() == ["acme-robotics"]
    assert page.locator("#sidebar .rb-ask-preset select option").count() >= 1
    assert page.locator("#main .bk-tab").all_inner_texts()[:4] == ["Ask", "Documents", "Experiments", "Monitor"]
    outside = [u for u in requests if not u.startswith((dashboard_url, "data:", "blob:"))]
    assert not outside, f"the page loaded resources from elsewhere: {outside}"

    notes = tmp_path / "notes.jsonl"
    notes.write_text(json.dumps(RECORD) + "\n")
    _tab(page, "Documents")
    assert "1 completed" in _upload(page, notes)
    _tab(page, "Ask")
    reply = _ask(page, "Where is the Brennholt bike cellar?")
    answer = reply.locator(".rb-answer")
    size = answer.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 16, f"answer font {size}px"
    assert answer.locator("strong").inner_text() == "Brennholt bike cellar"  # the answer's Markdown rendered
    assert answer.locator("em").inner_text() == "blue door" and "**" not in answer.inner_text()
    card = reply.locator(".rb-source", has=page.locator(".rb-source-title", has_text="notes.jsonl#bikes"))
    assert card.count() == 1
    doc_id = card.locator(".rb-doc-id").inner_text()
    assert doc_id and doc_id not in card.locator(".rb-source-title").inner_text()
    assert card.locator(".rb-lang").text_content() == "en"
    assert card.locator(".rb-score").inner_text().startswith("score ")
    assert card.locator(".rb-chunk strong").inner_text() == "Brennholt bike cellar"  # Markdown rendered
    assert card.locator(".rb-chunk em").inner_text() == "blue door"
    assert "**" not in card.locator(".rb-chunk").inner_text()
    titles = reply.locator(".rb-source-title").all_inner_texts()
    ids = reply.locator(".rb-doc-id").all_inner_texts()
    assert len(titles) == 5 and not set(titles) & set(ids), (titles, ids)  # no card is titled by its id
    card.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "ask_layout_cards.png")
    ctx.close()
