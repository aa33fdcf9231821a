"""Hardening seen in headless Chromium: a user's Monitor tab, the upload limit, uploads of unreadable
files, hostile markup in documents and questions shown as text in the chat, and an open page that signs
itself out when its session is revoked."""

from __future__ import annotations

import json

import pytest

from tests.dashboard.test_browser import QUESTION_PLACEHOLDER, _ask, _sign_in, _tab
from tests.dashboard.test_browser_documents import _upload
from tests.support.dashboard import ingest_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: All text on the page, through Bokeh's shadow roots (``inner_text("body")`` does not enter them).
ALL_TEXT = """() => {
    const out = [];
    const walk = (node) => {
        if (node.shadowRoot) walk(node.shadowRoot);
        for (const child of node.childNodes) {
            if (child.nodeType === Node.TEXT_NODE) out.push(child.textContent);
            else if (!["STYLE", "SCRIPT"].includes(child.nodeName)) walk(child);
        }
    };
    walk(document.body);
    return out.join(" ");
}"""


def test_monitor_shows_a_user_only_their_tenants_and_no_server_paths(browser, dashboard_url, dashboard_home, artifacts):
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    _tab(page, "Monitor")
    page.wait_for_selector(".rb-health-row")
    tenants = [r.split("\t")[0] for r in page.locator(".rb-tenants-row").all_inner_texts()]
    assert tenants == ["acme-robotics"]
    health = {r.split("\t")[0]: r for r in page.locator(".rb-health-row").all_inner_texts()}
    assert "\tup\t" in health["LanceDB"] and "details are shown to admins" in health["LanceDB"]
    text = page.evaluate(ALL_TEXT)
    assert "Signed in as" in text and "acme-robotics" in text  # the walk reaches Bokeh's shadow roots
    for secret in (str(dashboard_home.parent), "chunks at", "mlflow.db", "harbor-health"):
        at = text.lower().find(secret.lower())
        assert at < 0, f"{secret!r} shown to alice: ...{text[max(0, at - 200) : at + 100]}..."
    page.screenshot(path=artifacts / "monitor_user.png", full_page=True)
    ctx.close()


def test_upload_over_the_limit_states_it_and_the_page_stays_connected(browser, dashboard_url, artifacts, tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"The Brennholt archive holds old minutes.\n" * (30 * 2**20 // 41))  # ~30 MB, as in issue 13
    ctx, page = _sign_in(browser, dashboard_url, "root", "root-pw")
    _tab(page, "Documents")
    assert "Up to 20 MiB per upload" in page.inner_text(".rb-upload-limit")
    page.locator(".rb-docs-tenant select").select_option("acme-robotics")
    page.locator("input[type=file]").set_input_files([str(big)])
    page.wait_for_selector(".rb-job-status.rb-error")
    error = page.inner_text(".rb-job-status")
    assert "Upload refused" in error and "big.txt 30.0 MiB" in error and "over the 20 MiB limit" in error
    page.screenshot(path=artifacts / "upload_too_big.png", full_page=True)
    _tab(page, "Ask")  # the websocket is still open: the app answers
    page.locator(".rb-ask-tenant select").select_option("acme-robotics")
    reply = _ask(page, "Who founded the company?")
    assert "Margit Olessen" in reply.locator(".rb-answer").inner_text()
    ctx.close()


def test_unreadable_uploads_get_a_job_with_an_outcome_per_file(browser, dashboard_url, artifacts, tmp_path):
    files = {
        "kiosk-menu.md": b"# Kiosk\n\nThe Acme kiosk sells rye bread on Tuesdays.\n",
        "records.jsonl": (
            json.dumps({"id": "ok-1", "text": "Acme's night shift ends at six."})
            + "\n"
            + json.dumps({"id": "bad-lang", "text": "A record with a numeric language.", "language": 5})
            + "\n"
        ).encode(),
        "deep.jsonl": b"[" * 200_000 + b"\n",
        "latin1.txt": "Caf\u00e9 menu: cr\u00eapes".encode("latin-1"),
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    ctx, page = _sign_in(browser, dashboard_url, "root", "root-pw")
    _tab(page, "Documents")
    page.locator(".rb-docs-tenant select").select_option("acme-robotics")
    status = ingest_files(page, paths)
    assert "completed" in status and "5/5 documents" in status and "2 completed" in status and "3 failed" in status
    rows = {r.split("\t")[0]: r for r in page.locator(".rb-docs-row").all_inner_texts()}
    assert "completed" in rows["upload:kiosk-menu.md"] and "completed" in rows["upload:records.jsonl#ok-1"]
    assert "failed" in rows["upload:records.jsonl#bad-lang"] and "language" in rows["upload:records.jsonl#bad-lang"]
    deep = [r for k, r in rows.items() if k.startswith("upload:deep.jsonl")]
    assert len(deep) == 1 and "failed" in deep[0] and "nested too deeply" in deep[0]
    assert "failed" in rows["upload:latin1.txt"] and "invalid UTF-8" in rows["upload:latin1.txt"]
    page.screenshot(path=artifacts / "upload_unreadable.png", full_page=True)
    ctx.close()


def test_an_open_page_signs_out_when_its_session_is_revoked(browser, dashboard_url, artifacts):
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    assert page.get_by_placeholder(QUESTION_PLACEHOLDER).count() == 1
    other = ctx.new_page()
    other.goto(f"{dashboard_url}/logout")  # the same session, signed out in another tab
    page.wait_for_selector(".rb-signed-out", timeout=120_000)
    assert page.get_by_placeholder(QUESTION_PLACEHOLDER).count() == 0  # the chat went with the page
    assert "You are signed out" in other.inner_text("body")
    page.screenshot(path=artifacts / "signed_out.png", full_page=True)
    ctx.close()


HOSTILE = {  # a document whose text carries markup that would run script if it were rendered as HTML
    "id": "loft",
    "language": "en",
    "text": 'The Brennholt pigeon loft is **on the roof** <img src=x onerror="window.__rbXss=1"> next to the mast.',
}


def test_hostile_markup_in_answers_and_questions_is_shown_as_text(browser, dashboard_url, artifacts, tmp_path):
    hostile = tmp_path / "loft.jsonl"
    hostile.write_text(json.dumps(HOSTILE) + "\n")
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    _tab(page, "Documents")
    assert "1 completed" in _upload(page, hostile)
    _tab(page, "Ask")
    reply = _ask(page, "Where is the Brennholt pigeon loft? <script>window.__rbXss=2</script>")
    answer = reply.locator(".rb-answer")
    assert answer.locator("strong").inner_text() == "on the roof"  # Markdown rendered ...
    assert '<img src=x onerror="window.__rbXss=1">' in answer.inner_text()  # ... raw HTML shown as text
    assert answer.locator("img").count() == 0 and reply.locator(".rb-chunk img").count() == 0
    question = page.locator(".rb-question", has_text="<script>window.__rbXss=2</script>")
    assert question.count() == 1 and question.locator("script").count() == 0  # the question as typed, as text
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__rbXss") is None  # nothing ran
    reply.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "ask_hostile_markup.png")
    ctx.close()
