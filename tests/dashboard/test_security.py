"""The served dashboard as an attacker meets it, over real HTTP on 127.0.0.1 (and Chromium for the
guest cookie): foreign Host headers (DNS rebinding), cross-site POSTs, Panel's is_guest cookie,
logout and expiry on every route, password guessing, hashing off the event loop, hostile JSON.

Three servers: the session's (users file, production limits), an open one (no users file, the
DNS-rebinding target) and one with small sign-in limits (so its 429s do not lock out other tests)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import threading
import time

import pytest

from tests.dashboard.test_browser import TIMEOUT_MS
from tests.support.dashboard import COOKIE_SECRET, served_dashboard, sign_in

pytestmark = [pytest.mark.integration]

FOREIGN = "attacker.example"
ASK = {"tenant": "harbor-health", "question": "Who founded the company?"}


def _request(url, method, path, *, headers=None, body=None, host=None):
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.putrequest(method, path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{port}")
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    data = body.encode() if isinstance(body, str) else body
    if data is not None:
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    status, head, payload = resp.status, dict(resp.headers), resp.read()
    conn.close()
    return status, head, payload.decode("utf-8", "replace")


def _ask(url, cookie="", *, origin=True, host=None, body=None):
    headers = {"Content-Type": "application/json", "Cookie": cookie}
    if origin:
        headers["Origin"] = origin if isinstance(origin, str) else url
    return _request(
        url, "POST", "/api/ask", headers=headers, body=body if body is not None else json.dumps(ASK), host=host
    )


def _websocket_status(url, cookie="", *, host=None) -> int:
    """Status of a websocket handshake on /ws (101 = upgraded)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: {url}\r\nCookie: {cookie}\r\n\r\n"
            ).encode()
        )
        return int(sock.recv(4096).split(b" ", 2)[1])


def _session_cookie(url, user, password) -> str:
    status, cookies, _ = sign_in(url, user, password)
    assert status == 302, f"sign-in as {user} failed with HTTP {status}"
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


@pytest.fixture(scope="module")
def open_url(dashboard_home):
    """``ragbench dashboard`` without a users file: open, on 127.0.0.1 (the DNS-rebinding target)."""
    with served_dashboard(
        dashboard_home, None, log=dashboard_home.parent / "open-server.log", extra_args=["--no-warm"]
    ) as url:
        yield url


@pytest.fixture(scope="module")
def limited_url(dashboard_home, users_file):
    """A dashboard with small sign-in limits: 3 failures per user, 5 per client address, per hour."""
    with served_dashboard(
        dashboard_home,
        users_file,
        log=dashboard_home.parent / "limited-server.log",
        extra_args=["--no-warm", "--login-limit-user", "3/hour", "--login-limit-client", "5/hour"],
    ) as url:
        yield url


def test_foreign_host_is_refused_on_every_route(open_url, dashboard_url):
    for url in (open_url, dashboard_url):
        host = f"{FOREIGN}:{url.rsplit(':', 1)[1]}"
        for method, path in (
            ("GET", "/"),
            ("GET", "/login"),
            ("GET", "/api/tenants"),
            ("GET", "/favicon.ico"),
            ("GET", "/static/js/bokeh.min.js"),
            ("POST", "/api/ask"),
        ):
            status, _, body = _request(
                url,
                method,
                path,
                host=host,
                body="{}" if method == "POST" else None,
                headers={"Origin": f"http://{host}"},
            )
            assert status == 403 and "is not an address of this dashboard" in body, (url, path, status, body[:200])
        assert _websocket_status(url, host=host) == 403
    # the same requests under the bound address are answered (open mode: the local admin)
    status, _, body = _request(open_url, "GET", "/api/tenants")
    assert status == 200 and json.loads(body)["tenants"] == ["acme-robotics", "harbor-health", "lastavica-logistika"]
    status, _, body = _ask(open_url)
    assert status == 200 and all(s["doc_id"].startswith("harbor-") for s in json.loads(body)["sources"])
    assert _request(open_url, "GET", "/", host=f"localhost:{open_url.rsplit(':', 1)[1]}")[0] == 200


def test_posts_need_same_origin_proof(open_url):
    status, _, body = _ask(open_url, origin=f"http://{FOREIGN}")
    assert status == 403 and "needs same-origin proof" in body and FOREIGN in body
    status, _, body = _ask(open_url, origin=False)  # a script (or an old browser) without Origin
    assert status == 403 and "Origin header equal to http(s)://127.0.0.1:" in body
    assert _ask(open_url, origin=open_url)[0] == 200


def test_is_guest_cookie_does_not_switch_the_user(browser, dashboard_url):
    ctx = browser.new_context()
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.goto(f"{dashboard_url}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "alice-pw")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Signed in as")
    ctx.add_cookies([{"name": "is_guest", "value": "1", "url": dashboard_url}])
    page.goto(f"{dashboard_url}/")
    page.get_by_text("Signed in as").or_(page.locator(".rb-refused")).first.wait_for()
    assert page.locator(".rb-refused").count() == 0
    assert "Signed in as alice" in page.get_by_text("Signed in as").first.inner_text()
    assert page.locator(".rb-ask-tenant select option").all_inner_texts() == ["acme-robotics"]
    tenants = ctx.request.get(f"{dashboard_url}/api/tenants").json()
    assert tenants["user"] == "alice" and tenants["tenants"] == ["acme-robotics"]
    ctx.close()


def test_logout_revokes_the_session_on_every_route(dashboard_url):
    cookie = _session_cookie(dashboard_url, "alice", "alice-pw")
    assert _request(dashboard_url, "GET", "/", headers={"Cookie": cookie})[0] == 200
    assert _request(dashboard_url, "GET", "/api/tenants", headers={"Cookie": cookie})[0] == 200
    assert _websocket_status(dashboard_url, cookie) == 101
    status, _, body = _request(dashboard_url, "GET", "/logout", headers={"Cookie": cookie})
    assert status == 200
    # the copied cookie is dead everywhere
    status, head, _ = _request(dashboard_url, "GET", "/", headers={"Cookie": cookie})
    assert status == 302 and "login" in head["Location"]
    assert _request(dashboard_url, "GET", "/api/tenants", headers={"Cookie": cookie})[0] == 401
    assert _ask(dashboard_url, cookie, body=json.dumps({**ASK, "tenant": "acme-robotics"}))[0] == 401
    assert _websocket_status(dashboard_url, cookie) != 101
    assert "You are signed out" in body


def test_app_and_api_share_one_session_expiry(dashboard_url):
    """A session cookie re-signed two days in the past (sessions last 1 day) is refused by the app and
    the API alike (the API used to accept 30-day-old cookies)."""
    from tornado.web import create_signed_value, decode_signed_value

    _, cookies, _ = sign_in(dashboard_url, "alice", "alice-pw")
    signed = {n: decode_signed_value(COOKIE_SECRET, n, v, max_age_days=365) for n, v in cookies.items()}
    name, value = next((n, v) for n, v in signed.items() if v)
    old = create_signed_value(COOKIE_SECRET, name, value, clock=lambda: time.time() - 2 * 86400).decode()
    stale = f"{name}={old}"
    assert _request(dashboard_url, "GET", "/", headers={"Cookie": stale})[0] == 302
    assert _request(dashboard_url, "GET", "/api/tenants", headers={"Cookie": stale})[0] == 401
    assert _ask(dashboard_url, stale, body=json.dumps({**ASK, "tenant": "acme-robotics"}))[0] == 401


def test_password_guessing_is_limited_per_user_and_per_client(limited_url):
    for _ in range(3):
        assert sign_in(limited_url, "alice", "guess")[0] == 401
    status, cookies, head = sign_in(limited_url, "alice", "alice-pw")  # even the right password now waits
    assert status == 429 and int(head["Retry-After"]) > 0 and not cookies
    assert sign_in(limited_url, "root", "root-pw")[0] == 302  # another user from the same client still signs in
    for name in ("nobody", "admin"):  # unknown names count too: 5 failures from this client in all
        assert sign_in(limited_url, name, "guess")[0] == 401
    status, cookies, head = sign_in(limited_url, "root", "root-pw")
    assert status == 429 and int(head["Retry-After"]) > 0 and not cookies


def test_password_hashing_keeps_the_server_responsive(dashboard_url):
    """While 4 wrong passwords are being hashed (~0.4 s of PBKDF2 each), the event loop still answers:
    an API call sent after them returns before the first of them does."""
    cookie = _session_cookie(dashboard_url, "alice", "alice-pw")
    done: list[str] = []
    lock = threading.Lock()

    def guess(i):
        sign_in(dashboard_url, "carol", f"wrong-{i}")
        with lock:
            done.append("login")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)  # the logins are in flight
    status = _request(dashboard_url, "GET", "/api/tenants", headers={"Cookie": cookie})[0]
    with lock:
        done.append("api")
    for t in threads:
        t.join()
    assert status == 200 and done[0] == "api", done
    assert sign_in(dashboard_url, "carol", "carol-pw")[0] == 302  # 4 failures are under the limit of 5


def test_api_answers_hostile_bodies_with_400(dashboard_url):
    cookie = _session_cookie(dashboard_url, "alice", "alice-pw")
    cases = [
        (json.dumps({**ASK, "tenant": "acme-robotics", "preset": ["bm25"]}), "preset must be a string"),
        ("[" * 200_000, "nested too deeply"),
        ('"just a string"', "expected a JSON object"),
        ("{not json", "not valid JSON"),
    ]
    for body, reason in cases:
        status, _, text = _ask(dashboard_url, cookie, body=body)
        assert status == 400 and reason in json.loads(text)["error"], (status, text[:300])
    status, _, text = _ask(dashboard_url, cookie, body="x" * (2**20 + 1))
    assert status == 413 and "over the 1048576-byte limit" in json.loads(text)["error"]
