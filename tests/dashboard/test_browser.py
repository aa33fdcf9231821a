"""The served dashboard in headless Chromium (Playwright + Debian chromium): sign in, ask, upload,
compare runs, monitor; tenant isolation in the selector and against crafted requests.
Screenshots go to test-artifacts/screenshots/ for review."""

from __future__ import annotations

import pytest

from tests.support.dashboard import ingest_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION_PLACEHOLDER = "Ask a question about this tenant's documents"
#: How long a page waits for an element: a wait, not a timing claim. Generous because `make test` may run
#: two workers, and the other one can hold both cores (vLLM, the deploy stack) for minutes.
TIMEOUT_MS = 300_000


#: An element's text including its shadow roots (Panel panes render inside them; ``inner_text`` stops at the host).
DEEP_TEXT = """(e) => {
    const out = [];
    const walk = (node) => {
        if (node.shadowRoot) walk(node.shadowRoot);
        for (const child of node.childNodes) {
            if (child.nodeType === Node.TEXT_NODE) out.push(child.textContent);
            else if (!["STYLE", "SCRIPT"].includes(child.nodeName)) walk(child);
        }
    };
    walk(e);
    return out.join(" ").replace(/\\s+/g, " ").trim();
}"""


def _text(locator) -> str:
    """The text of ``locator``'s element, through the shadow roots below it."""
    return locator.evaluate(DEEP_TEXT)


def _doc_ids(home, tenant: str) -> set[str]:
    """The ids of ``tenant``'s documents in the served home's store, read as ingestion recorded them
    (uploads from other test files add ids of their own, so no id pattern is assumed)."""
    from ragbench.ingestion.tenants import list_documents
    from ragbench.stores.lancedb import LanceDBStore

    return {d["doc_id"] for d in list_documents(LanceDBStore(home / "lancedb"), tenant) if d["doc_id"]}


def _sign_in(browser, url, user, password):
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.goto(f"{url}/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Signed in as")
    return ctx, page


def _tab(page, name):
    page.locator(".bk-tab", has_text=name).click()


def _send(page, question):
    """Type ``question`` into the chat and send it; returns the locator of the reply it gets."""
    before = page.locator(".rb-reply.rb-live").count()  # replies posted in this page (not restored ones)
    page.get_by_placeholder(QUESTION_PLACEHOLDER).fill(question)
    page.get_by_role("button", name="Send", exact=True).click()
    return page.locator(".rb-reply.rb-live").nth(before)


def _ask(page, question):
    """Ask in the chat and wait for the reply to finish (done or error); returns the reply's locator."""
    reply = _send(page, question)
    reply.locator(".rb-stage.rb-done, .rb-stage.rb-error").wait_for()
    return reply


def test_wrong_password_is_refused(browser, dashboard_url, artifacts):
    page = browser.new_page()
    page.goto(f"{dashboard_url}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not-her-password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Invalid username or password")
    assert "/login" in page.url
    page.screenshot(path=artifacts / "login_refused.png")
    page.close()


def test_ask_shows_answer_sources_timings_and_history(browser, dashboard_url, dashboard_home, artifacts):
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    assert page.locator(".rb-ask-tenant select option").all_inner_texts() == ["acme-robotics"]
    reply = _ask(page, "Who founded the company?")
    assert "Margit Olessen" in reply.locator(".rb-answer").inner_text()
    stage = reply.locator(".rb-stage").inner_text()
    assert stage.startswith("Done: retrieve") and "total" in stage
    sources = reply.locator(".rb-source")  # the sources card under the answer
    assert sources.count() == 5 and _text(reply.locator(".rb-sources-card")).startswith("Sources (5)")
    doc_ids = reply.locator(".rb-doc-id").all_inner_texts()
    assert set(doc_ids) <= _doc_ids(dashboard_home, "acme-robotics")
    assert reply.locator(".rb-source .rb-cited").count() >= 1
    question = page.locator(".chat-message:not(.rb-reply)", has_text="Who founded the company?").last
    assert "alice" in _text(question)  # her question is a message of hers, above the reply
    page.screenshot(path=artifacts / "ask_answer.png", full_page=True)
    # the conversation is persisted: a new session of the same user sees it, sources and all
    page2 = ctx.new_page()
    page2.goto(f"{dashboard_url}/")
    restored = page2.locator(".rb-reply.rb-restored", has_text="Margit Olessen").last
    restored.wait_for()
    assert restored.locator(".rb-source").count() == 5
    assert page2.locator(".rb-reply.rb-live").count() == 0
    ctx.close()


def test_user_cannot_reach_another_tenant(browser, dashboard_url, dashboard_home, artifacts):
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    # 1. the selectors offer only her tenant
    assert page.locator(".rb-ask-tenant select option").all_inner_texts() == ["acme-robotics"]
    _tab(page, "Documents")
    assert page.locator(".rb-docs-tenant select option").all_inner_texts() == ["acme-robotics"]
    _tab(page, "Experiments")  # runs hold every tenant's questions: admins only
    assert "admins only" in page.inner_text(".rb-admin-only") and page.locator(".rb-runs .tabulator-row").count() == 0
    _tab(page, "Ask")
    # 2. a crafted widget change over the websocket: Panel rejects the value, the answer stays in acme
    page.evaluate("""() => {
        for (const m of Bokeh.documents[0].all_models) {
            if (m.type === 'Select' && m.options.includes('acme-robotics')) { m.value = 'harbor-health'; }
        }
    }""")
    reply = _ask(page, "Who founded the company?")
    assert "Margit Olessen" in reply.locator(".rb-answer").inner_text()
    assert "Castellow" not in reply.locator(".rb-answer").inner_text()
    shown = set(reply.locator(".rb-doc-id").all_inner_texts())
    assert shown and shown <= _doc_ids(dashboard_home, "acme-robotics")
    assert not shown & _doc_ids(dashboard_home, "harbor-health")
    page.screenshot(path=artifacts / "isolation_crafted_select.png", full_page=True)
    # 3. crafted HTTP requests with her session cookie
    same_origin = {"Origin": dashboard_url}  # what the page's own fetch() would send
    denied = ctx.request.post(
        f"{dashboard_url}/api/ask",
        data={"tenant": "harbor-health", "question": "Who founded the company?"},
        headers=same_origin,
    )
    assert denied.status == 403 and "may not access tenant 'harbor-health'" in denied.json()["error"]
    assert ctx.request.get(f"{dashboard_url}/api/tenants").json()["tenants"] == ["acme-robotics"]
    own = ctx.request.post(
        f"{dashboard_url}/api/ask",
        data={"tenant": "acme-robotics", "question": "Who founded the company?"},
        headers=same_origin,
    )
    assert own.status == 200 and "Margit Olessen" in own.json()["answer"]
    bad = ctx.request.post(
        f"{dashboard_url}/api/ask", data={"tenant": "x' OR '1'='1", "question": "hi"}, headers=same_origin
    )
    assert bad.status == 400 and "tenant" in bad.json()["error"]
    assert ctx.request.get(f"{dashboard_url}/api/jobs/0123456789ab").status == 404
    ctx.close()
    # 4. without a session nothing is answered
    anon = browser.new_context()
    r = anon.request.post(
        f"{dashboard_url}/api/ask",
        data={"tenant": "acme-robotics", "question": "hi"},
        max_redirects=0,
        headers=same_origin,
    )
    assert r.status == 401
    anon.close()


def test_upload_shows_live_job_progress_and_per_document_status(browser, dashboard_url, artifacts, tmp_path):
    good = tmp_path / "cafeteria.md"
    good.write_text("# Cafeteria\n\nThe Brennholt cafeteria serves blueberry pancakes every Friday morning.\n")
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"not a pdf at all")
    ctx, page = _sign_in(browser, dashboard_url, "root", "root-pw")
    _tab(page, "Documents")
    page.locator(".rb-docs-tenant select").select_option("acme-robotics")
    status = ingest_files(page, [good, bad])
    assert "completed" in status and "2/2 documents" in status and "1 failed" in status
    rows = {r.split("\t")[0]: r for r in page.locator(".rb-docs-row").all_inner_texts()}
    assert "completed" in rows["upload:cafeteria.md"]
    assert "failed" in rows["upload:scan.pdf"] and "not a readable PDF" in rows["upload:scan.pdf"]
    page.screenshot(path=artifacts / "documents_job.png", full_page=True)
    ticket = page.locator(".rb-job-finished").get_attribute("data-ticket")
    polled = ctx.request.get(f"{dashboard_url}/api/jobs/{ticket}").json()
    assert polled["state"] == "finished" and polled["job"]["status"] == "completed" and polled["job"]["failed"] == 1
    hank, _ = _sign_in(browser, dashboard_url, "hank", "hank-pw")  # a harbor-health user
    assert hank.request.get(f"{dashboard_url}/api/jobs/{ticket}").status == 404
    hank.close()
    _tab(page, "Ask")
    page.locator(".rb-ask-tenant select").select_option("acme-robotics")
    reply = _ask(page, "What does the cafeteria serve on Friday?")
    assert "blueberry pancakes" in reply.locator(".rb-answer").inner_text()
    page.screenshot(path=artifacts / "ask_uploaded.png", full_page=True)
    ctx.close()


def test_experiments_and_monitor(browser, dashboard_url, artifacts):
    ctx, page = _sign_in(browser, dashboard_url, "root", "root-pw")
    _tab(page, "Experiments")
    page.wait_for_selector(".rb-runs .tabulator-row")
    runs = page.locator(".rb-runs .tabulator-row .tabulator-cell[tabulator-field=name]").all_inner_texts()
    assert runs[:2] == ["demo-bm25", "demo-hybrid"]  # the runs table (a Tabulator), newest first
    for name in ("demo-bm25", "demo-hybrid"):  # tick two runs to pick them for Compare
        page.locator(".rb-runs .tabulator-row", has_text=name).locator("input[type=checkbox]").check()
    page.wait_for_selector(".rb-pick-note")
    assert page.inner_text(".rb-pick-note") == "Run A: demo-hybrid · run B: demo-bm25"
    assert page.locator(".rb-plot-dataset select option").all_inner_texts() == ["demo"]  # one dataset at a time
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector(".rb-compare-row")
    metrics = [r.split("\t")[0] for r in page.locator(".rb-compare-row").all_inner_texts()]
    assert "ndcg@10" in metrics and "recall@10" in metrics
    assert page.locator("canvas").count() >= 1  # the quality vs latency plot
    page.screenshot(path=artifacts / "experiments.png", full_page=True)
    page.locator(".rb-plot-dataset").scroll_into_view_if_needed()  # the one-dataset scatter below Compare
    page.screenshot(path=artifacts / "experiments_scatter.png")
    _tab(page, "Monitor")
    page.wait_for_selector(".rb-health-row")
    health = {r.split("\t")[0]: r for r in page.locator(".rb-health-row").all_inner_texts()}
    assert "\tup\t" in health["LanceDB"] and "\tup\t" in health["MLflow"]
    assert "LLM endpoint" in health and "GPU" in health
    tenants = {r.split("\t")[0]: r.split("\t") for r in page.locator(".rb-tenants-row").all_inner_texts()}
    assert set(tenants) >= {"acme-robotics", "harbor-health"} and int(tenants["harbor-health"][2]) >= 35
    page.screenshot(path=artifacts / "monitor.png", full_page=True)
    ctx.close()
