"""A tenant's document list in headless Chromium: a Tabulator (filter, pick rows), re-upload replacing
by file name, delete, each user seeing only their tenant's documents, and Ingest waiting for a large
chosen file's bytes.
Screenshots go to test-artifacts/screenshots/ for review."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.dashboard.test_browser import _sign_in, _tab
from tests.support.dashboard import ingest_files

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _keys(page) -> list[str]:
    return page.locator(".rb-doc-list .tabulator-row .tabulator-cell[tabulator-field=key]").all_inner_texts()


def _chunks(home, tenant: str) -> int:
    """The tenant's chunks in every embedding space, read from its LanceDB folder."""
    import lancedb

    db = lancedb.connect(home / "lancedb" / "tenants" / tenant)
    return sum(db.open_table(t).count_rows() for t in db.list_tables().tables if t.startswith("chunks__"))


def _upload(page, path) -> str:
    """Upload one file and wait until its job (a new ticket) has finished; returns the job status line."""
    return ingest_files(page, [path])


def test_document_list_reupload_replaces_and_delete_removes(
    browser, dashboard_url, dashboard_home, artifacts, tmp_path
):
    lockers = tmp_path / "lockers.md"
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    _tab(page, "Documents")
    page.wait_for_selector(".rb-doc-list .tabulator-row")
    keys = _keys(page)
    assert keys and all(k.startswith("doc:acme-") for k in keys), keys  # her tenant's documents only
    before = _chunks(dashboard_home, "acme-robotics")
    lockers.write_text("# Lockers\n\nEvery Brennholt employee gets a green locker on floor two.\n")
    assert "1 completed" in _upload(page, lockers)
    assert _chunks(dashboard_home, "acme-robotics") == before + 1
    (tmp_path / "v2").mkdir()
    lockers = tmp_path / "v2" / "lockers.md"  # the same file name, new content
    lockers.write_text("# Lockers\n\nLockers moved: each employee now has a blue locker in the basement.\n")
    assert "1 completed, 0 skipped" in _upload(page, lockers)  # new content ingested (not the first file again)
    assert _chunks(dashboard_home, "acme-robotics") == before + 1  # replaced, not duplicated
    key_filter = page.locator(".rb-doc-list .tabulator-col[tabulator-field=key] input")
    key_filter.press_sequentially("lockers")  # Tabulator filters on key strokes
    page.wait_for_timeout(1000)
    assert _keys(page) == ["upload:lockers.md"]
    page.screenshot(path=artifacts / "documents_list.png", full_page=True)
    page.locator(".rb-doc-list .tabulator-row", has_text="upload:lockers.md").locator("input[type=checkbox]").check()
    page.get_by_role("button", name="Delete selected documents").click()
    page.wait_for_selector(".rb-delete-status")
    assert "Deleted 1 document(s) and their 1 chunk(s): upload:lockers.md" in page.inner_text(".rb-delete-status")
    assert _chunks(dashboard_home, "acme-robotics") == before
    key_filter.fill("")
    key_filter.press("Backspace")
    page.wait_for_timeout(1000)
    assert "upload:lockers.md" not in _keys(page) and _keys(page)
    page.screenshot(path=artifacts / "documents_deleted.png", full_page=True)
    ctx.close()
    # another tenant's user sees only that tenant's documents
    hank, page = _sign_in(browser, dashboard_url, "hank", "hank-pw")
    _tab(page, "Documents")
    page.wait_for_selector(".rb-doc-list .tabulator-row")
    assert all(k.startswith("doc:harbor-") for k in _keys(page))
    hank.close()


#: Choose a file in the upload input and click Ingest in the same moment, as a quick user does while the browser
#: still reads the file (its bytes are sent after that); returns whether Ingest was disabled right after.
CHOOSE_AND_CLICK = """([input, ingest, megabytes]) => {
    const image = "A".repeat(megabytes * 2 ** 20);  // a saved page with an inlined image: one sentence of text
    const page = "<html><head><title>Roof garden</title></head><body><p>The Brennholt roof garden opens in May.</p>"
        + `<img alt="garden" src="data:image/png;base64,${image}"></body></html>`;
    const chosen = new DataTransfer();
    chosen.items.add(new File([page], "roof-garden.html", {type: "text/html"}));
    input.files = chosen.files;
    input.dispatchEvent(new Event("input", {bubbles: true, composed: true}));  // what a file dialog fires
    input.dispatchEvent(new Event("change", {bubbles: true}));
    ingest.click();
    return ingest.disabled;
}"""


def test_ingest_clicked_while_a_large_file_is_read_never_ingests_the_previous_file(
    browser, dashboard_url, artifacts, tmp_path
):
    """The browser shows a chosen file's name at once but sends its bytes only after reading it: Ingest is
    disabled from the input's event until the server has them, so a click in between ingests nothing (not
    the file chosen before), and Ingest then ingests the new file."""
    old = tmp_path / "shelves.md"
    old.write_text("# Shelves\n\nThe Brennholt archive shelves are made of oak.\n")
    ctx, page = _sign_in(browser, dashboard_url, "alice", "alice-pw")
    _tab(page, "Documents")
    assert "1 completed" in _upload(page, old)  # the FileInput now holds shelves.md on the server
    before = page.locator(".rb-job-finished").get_attribute("data-ticket")
    ingest = page.get_by_role("button", name="Ingest uploaded files")
    handles = [page.locator("input[type=file]").element_handle(), ingest.element_handle()]
    disabled_at_once = page.evaluate(CHOOSE_AND_CLICK, [*handles, 8])  # an 8 MB file
    expect(ingest).to_be_enabled()  # the server has the new file's bytes
    page.wait_for_timeout(1500)  # a job started by the early click would show by now
    if page.locator(".rb-job-status").get_attribute("data-ticket") != before:  # the server ingested what it had
        page.wait_for_selector(f'.rb-job-finished:not([data-ticket="{before}"])')
        stale = [r.split("\t")[0] for r in page.locator(".rb-docs-row").all_inner_texts()]
        pytest.fail(f"Ingest clicked while the new file was read ingested {stale}, not upload:roof-garden.html")
    ingest.click()
    page.wait_for_selector(f'.rb-job-finished:not([data-ticket="{before}"])')
    ingested = [r.split("\t")[0] for r in page.locator(".rb-docs-row").all_inner_texts()]
    page.screenshot(path=artifacts / "upload_large_file.png", full_page=True)
    ctx.close()
    assert disabled_at_once  # the click met a disabled button
    assert ingested == ["upload:roof-garden.html"], ingested  # the new file
