"""Load test of the served dashboard: N concurrent questions from a second process.

The server is a separate ``ragbench dashboard`` process (started here on a temporary home
with the demo dataset, unless ``--url`` points at a running one). This process signs in
through the login page and sends the questions to ``POST /api/ask`` -- the same service
code, tenant checks and thread pool the Ask tab uses -- first one at a time, then all at
once, and prints p50/p95 of both side by side.

    python bench/bench_dashboard_load.py                 # own server, 20 concurrent queries
    python bench/bench_dashboard_load.py --url http://127.0.0.1:5006 --user root --password ...
    python bench/bench_dashboard_load.py --login-flood   # API latency during a password-guessing flood
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the dashboard harness lives in tests/support

from ragbench.dashboard.sessions import COOKIE
from tests.support.dashboard import free_port, sign_in, start_dashboard, stop_dashboard

ROOT = Path(__file__).resolve().parents[1]


def demo_questions() -> list[tuple[str, str]]:
    """``(tenant, question)`` pairs from the demo dataset, alternating tenants."""
    per_tenant = []
    for tenant in ("acme-robotics", "harbor-health"):
        lines = (ROOT / "datasets" / "demo" / tenant / "queries.jsonl").read_text().splitlines()
        per_tenant.append([(tenant, json.loads(line)["text"]) for line in lines if line.strip()])
    return [q for pair in zip(*per_tenant) for q in pair]


def login(url: str, user: str, password: str) -> str:
    """Sign in through the login page; returns the ``Cookie`` header value for the API."""
    status, cookies, _ = sign_in(url, user, password)
    if status != 302 or COOKIE not in cookies:
        raise SystemExit(f"login as {user!r} failed at {url}/login (HTTP {status}, no session cookie; wrong password?)")
    return f"{COOKIE}={cookies[COOKIE]}"


def ask(url: str, cookie: str, tenant: str, question: str) -> tuple[int, float, dict]:
    """One ``POST /api/ask``; returns (HTTP status, seconds, JSON body)."""
    body = json.dumps({"tenant": tenant, "question": question}).encode()
    req = urllib.request.Request(
        f"{url}/api/ask",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Cookie": cookie, "Origin": url},
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, payload = resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, json.loads(exc.read() or b"{}")
    return status, time.perf_counter() - start, payload


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def run_load(url: str, cookie: str, questions: list[tuple[str, str]], *, concurrency: int) -> dict:
    """Send every question with ``concurrency`` in flight; returns latencies, errors and wall time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda tq: (tq[0], *ask(url, cookie, *tq)), questions))
    wall = time.perf_counter() - start
    errors = [f"{t}: HTTP {s} {p.get('error', '')}" for t, s, _, p in results if s != 200 or p.get("error")]
    # a leak is a source from another tenant's demo corpus (ids "<tenant prefix>-..."); documents
    # uploaded into the tenant (content-hash ids) are its own
    prefixes = {t.split("-")[0] + "-" for t, _ in questions}
    leaks = [
        f"{t}: got {src['doc_id']}"
        for t, s, _, p in results
        if s == 200
        for src in p.get("sources", [])
        if any(src["doc_id"].startswith(o) for o in prefixes - {t.split("-")[0] + "-"})
    ]
    lat = [sec * 1000 for _, _, sec, _ in results]
    return {
        "n": len(results),
        "errors": errors,
        "leaks": leaks,
        "wall_s": wall,
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "answers": [p.get("answer", "") for *_, p in results],
    }


def login_flood(url: str, cookie: str, *, user: str = "bench", seconds: float = 8.0, threads: int = 8) -> dict:
    """API latency (``GET /api/tenants``) alone and while ``threads`` clients send wrong passwords,
    plus the sign-in time of a real user and of an unknown name (they should match)."""

    def api_p50(n: int = 30) -> float:
        lat = []
        for _ in range(n):
            start = time.perf_counter()
            req = urllib.request.Request(f"{url}/api/tenants", headers={"Cookie": cookie})
            urllib.request.urlopen(req, timeout=60).read()
            lat.append((time.perf_counter() - start) * 1000)
        return percentile(lat, 50)

    def timed(user: str) -> float:
        start = time.perf_counter()
        sign_in(url, user, "wrong-password")
        return (time.perf_counter() - start) * 1000

    known = percentile([timed(user) for _ in range(3)], 50)  # under the per-user limit
    unknown = percentile([timed(f"nobody-{i}") for i in range(3)], 50)
    idle = api_p50()
    stop, statuses = time.perf_counter() + seconds, []

    def flood(i: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            statuses.append(sign_in(url, f"guess-{i}-{n}", "wrong")[0])
            n += 1

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for i in range(threads):
            pool.submit(flood, i)
        busy = api_p50()
    return {
        "known_ms": known,
        "unknown_ms": unknown,
        "api_idle_p50_ms": idle,
        "api_flood_p50_ms": busy,
        "guesses": len(statuses),
        "refused_429": statuses.count(429),
    }


def prepare_home(home: Path) -> Path:
    """Ingest the demo dataset under ``home`` and write a users file with an admin; returns its path."""
    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset
    from tests.support.dashboard import write_users_file

    ingest_dataset(build(compose([f"home={home}", "progress=false"])))
    return write_users_file(home / "users.json", {"bench": ("bench-pw", "admin", [])})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running dashboard (default: start one on a temporary home).")
    parser.add_argument("--user", default="bench")
    parser.add_argument("--password", default="bench-pw")
    parser.add_argument("-n", type=int, default=20, help="Questions (default 20).")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--login-flood",
        action="store_true",
        help="Instead: API latency alone and during a flood of wrong passwords; known vs unknown user sign-in time.",
    )
    parser.add_argument(
        "--login-limit-client",
        default="30/15 minutes",
        help="Own server's failed sign-ins per address (e.g. '100000/minute' to flood the hashing itself).",
    )
    args = parser.parse_args(argv)
    proc, tmp = None, None
    try:
        url = args.url
        if url is None:
            tmp = tempfile.TemporaryDirectory(prefix="rb-dash-load-")
            home = Path(tmp.name) / "home"
            users = prepare_home(home)
            port = free_port()
            proc = start_dashboard(
                home,
                users,
                port=port,
                log=Path(tmp.name) / "server.log",
                extra_args=["--login-limit-client", args.login_limit_client],
            )
            url = f"http://127.0.0.1:{port}"
        cookie = login(url, args.user, args.password)
        if args.login_flood:
            flood = login_flood(url, cookie, user=args.user)
            print(
                f"sign-in with a wrong password: known user {flood['known_ms']:.0f} ms, unknown user {flood['unknown_ms']:.0f} ms"
            )
            print(
                f"GET /api/tenants p50: {flood['api_idle_p50_ms']:.1f} ms alone, {flood['api_flood_p50_ms']:.1f} ms during "
                f"{flood['guesses']} wrong sign-ins in 8 s ({flood['refused_429']} answered 429)"
            )
            return 0
        questions = (demo_questions() * (args.n // 2 + 1))[: args.n]
        ask(url, cookie, *questions[0])  # warm-up, not counted
        seq = run_load(url, cookie, questions, concurrency=1)
        conc = run_load(url, cookie, questions, concurrency=args.concurrency)
    finally:
        if proc is not None:
            stop_dashboard(proc)
        if tmp is not None:
            tmp.cleanup()
    print(f"{'mode':<22}{'n':>4}{'errors':>8}{'p50 ms':>10}{'p95 ms':>10}{'wall s':>9}{'q/s':>7}")
    for name, r in (("sequential", seq), (f"{args.concurrency} concurrent", conc)):
        print(
            f"{name:<22}{r['n']:>4}{len(r['errors']):>8}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}{r['wall_s']:>9.2f}{r['n'] / r['wall_s']:>7.1f}"
        )
    print(
        f"throughput ratio concurrent/sequential: {(conc['n'] / conc['wall_s']) / (seq['n'] / seq['wall_s']):.2f}x; "
        f"p95 ratio: {conc['p95_ms'] / seq['p95_ms']:.2f}x"
    )
    for problem in seq["errors"] + conc["errors"] + seq["leaks"] + conc["leaks"]:
        print("PROBLEM:", problem)
    return 1 if seq["errors"] or conc["errors"] or seq["leaks"] or conc["leaks"] else 0


if __name__ == "__main__":
    sys.exit(main())
