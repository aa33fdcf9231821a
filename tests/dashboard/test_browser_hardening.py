"""Hardening seen in headless Chromium: a user's Monitor tab, the upload limit, uploads of unreadable
files, and an open page that signs itself out when its session is revoked."""

from __future__ import annotations

import json

import pytest

from tests.dashboard.test_browser import _ask, _sign_in, _tab

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
    _ask(page, "Who founded the company?")
    assert "Margit Olessen" in page.inner_text(".rb-answer")
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
    page.locator("input[type=file]").set_input_files(paths)
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Ingest uploaded files").click()
    page.wait_for_selector(".rb-job-finished", timeout=60_000)
    status = page.inner_text(".rb-job-status")
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
    other = ctx.new_page()
    other.goto(f"{dashboard_url}/logout")  # the same session, signed out in another tab
    page.wait_for_selector(".rb-signed-out", timeout=30_000)
    assert page.locator(".rb-ask-question").count() == 0
    assert "You are signed out" in other.inner_text("body")
    page.screenshot(path=artifacts / "signed_out.png", full_page=True)
    ctx.close()
