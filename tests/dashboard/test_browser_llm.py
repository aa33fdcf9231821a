"""The dashboard's Ask streams the real instruct model's tokens (SmolLM2-135M-Instruct on a vLLM server,
generator=openai) into the page, in headless Chromium: the answer text grows before the final answer."""

from __future__ import annotations

import time

import pytest

from tests.dashboard.test_browser import TIMEOUT_MS, _send

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm_dashboard_url(dashboard_home, users_file, real_llm_server):
    from tests.support.dashboard import served_dashboard

    overrides = [
        "generator=openai",
        f"generator.base_url={real_llm_server.base_url}",
        "generator.model=smollm2-135m-instruct",
        "generator.max_tokens=64",
        "generator.stream=true",
    ]
    with served_dashboard(
        dashboard_home, users_file, log=dashboard_home.parent / "server-llm.log", overrides=overrides
    ) as url:
        yield url


def test_ask_streams_the_real_models_tokens(browser, llm_dashboard_url, artifacts):
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.goto(f"{llm_dashboard_url}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-pw")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Signed in as")
    reply = _send(page, "How many paid vacation days does a full-time employee get?")
    streaming = reply.locator(".rb-answer.rb-streaming")  # the partial answer, shown as plain text
    seen: list[str] = []  # the partial answer's text each time it changed, until the final answer is shown
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if reply.locator(".rb-stage.rb-done, .rb-stage.rb-error").count():
            break
        if streaming.count():
            text = streaming.inner_text()
            if text and (not seen or text != seen[-1]):
                seen.append(text)
        page.wait_for_timeout(40)
    reply.locator(".rb-stage.rb-done").wait_for()
    final = reply.locator(".rb-answer").inner_text()
    assert streaming.count() == 0  # the final answer replaced the streamed text (rendered as Markdown)
    page.screenshot(path=artifacts / "ask_streamed_real_model.png", full_page=True)
    ctx.close()
    assert final.strip(), "the real model answered nothing"
    growing = [t for t in seen if t.strip()]
    assert len(growing) >= 2, f"no partial text was shown before the final answer: {seen!r}"
    assert all(len(a) < len(b) for a, b in zip(growing, growing[1:])), growing  # each read longer than the last
    assert growing[0] != final  # the first read was a partial answer
