"""The deployment recipe's services started as plain processes on 127.0.0.1: the commands of
deploy/compose.yaml, with hosts, ports and volume paths rewritten to this machine, run for real -- MLflow
server, ``ragbench serve`` (2 workers) and the dashboard -- against the session's real vLLM server on
SmolLM2-135M-Instruct (``real_llm_server``: the compose file's vLLM command asks for a GPU, so the CPU
server stands in for it). Then each compose health check passes, a key made with ``ragbench keys create``
ingests and queries through the API, and the query's trace lands in the MLflow server."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.deploy.manifests import DEPLOY, compose_file, compose_services
from tests.support.dashboard import COOKIE_SECRET, free_port, write_users_file
from tests.support.service import call, stop_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
TRACE_SALT = "deploy-test-salt"


def localize(arg: str, hosts: dict[str, str], paths: dict[str, str]) -> str:
    """One compose argument for this machine: ``service:port`` and ``localhost:port`` to the local port,
    container paths to temporary folders, ``0.0.0.0`` to ``127.0.0.1``."""
    for path, local in paths.items():
        arg = arg.replace(path, local)
    arg = arg.replace("0.0.0.0", "127.0.0.1")
    return re.sub(r"\b([a-z0-9.]+):(\d{4})\b", lambda m: hosts.get(m.group(0), m.group(0)), arg)


def _rewrite(argv: list[str], hosts, paths, ports) -> list[str]:
    out = [localize(a, hosts, paths) for a in argv]
    if "--port" in out:
        i = out.index("--port") + 1
        out[i] = str(ports[int(out[i])])
    return out


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    exe = [sys.executable, "-m", "ragbench.cli"] if argv[0] == "ragbench" else [sys.executable, "-m", argv[0]]
    return subprocess.Popen(
        [*exe, *argv[1:]],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
    )


def _healthy(test: list[str], hosts, paths, timeout: float = 300) -> bool:
    """Run a compose health check's command (``CMD python -c ...``) until it exits 0."""
    code = [localize(a, hosts, paths) for a in test[1:]]
    assert code[0] in ("python", "python3") and code[1] == "-c"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if subprocess.run([sys.executable, "-c", code[2]], capture_output=True, timeout=30).returncode == 0:
                return True
        except subprocess.TimeoutExpired:  # a probe that hangs on a loaded machine is a failed probe, not the end
            pass
        time.sleep(1)
    return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory, real_llm_server, real_llm):
    """MLflow, the API and the dashboard from the compose commands; the health checks they declare pass."""
    tmp = tmp_path_factory.mktemp("deploy")
    ports = {5000: free_port(), 8080: free_port(), 5006: free_port(), 8000: real_llm_server.port}
    names = {"mlflow": 5000, "api": 8080, "dashboard": 5006, "vllm": 8000, "localhost": None, "127.0.0.1": None}
    hosts = {
        f"{n}:{p}": f"{'localhost' if n == 'localhost' else '127.0.0.1'}:{ports[p]}"
        for n in names
        for p in ports
        if names[n] in (p, None)
    }
    paths = {
        "/data/ragbench": str(tmp / "ragbench"),
        "/data/mlflow": str(tmp / "mlflow"),
        "/config/users.yaml": str(tmp / "users.yaml"),
        "/models": str(real_llm.parent),
    }
    write_users_file(tmp / "users.yaml", {"root": ("a long test password", "admin", [])})
    env = {
        "RAGBENCH_DASHBOARD_COOKIE_SECRET": COOKIE_SECRET,
        "RAGBENCH_TRACE_SALT": TRACE_SALT,  # known here, so the test can pick a sampled and an unsampled id
        **compose_file()["x-ragbench"]["environment"],
        "RAGBENCH_MODELS_DIR": str(real_llm.parent),
    }
    services, specs = compose_services(), compose_file()["services"]
    procs = {}
    try:
        # as compose orders them: mlflow first, then api and dashboard (both depend only on vllm and mlflow)
        for group in (("mlflow",), ("api", "dashboard")):
            for name in group:
                argv = _rewrite(services[name].command, hosts, paths, ports)
                own = {
                    k: str(v)
                    for k, v in specs[name].get("environment", {}).items()
                    if k != "RAGBENCH_MODELS_DIR" and "${" not in str(v)
                }
                procs[name] = _start(argv, tmp / f"{name}.log", {**env, **own})
            for name in group:
                if not _healthy(specs[name]["healthcheck"]["test"], hosts, paths):
                    pytest.fail(f"{name} is not healthy: {(tmp / f'{name}.log').read_text()[-3000:]}")
        assert _healthy(specs["vllm"]["healthcheck"]["test"], hosts, paths, timeout=120)
        yield {"tmp": tmp, "ports": ports, "hosts": hosts, "paths": paths, "env": env}
    finally:
        for proc in procs.values():
            stop_api(proc)


def _keys_create(stack, *args: str) -> str:
    documented = ["ragbench", "keys", "create", "--name", "app", "--tenant", "acme-robotics", "home=/data/ragbench"]
    header = (DEPLOY / "compose.yaml").read_text()
    assert " ".join(documented) in header  # the command the compose file tells an operator to run
    argv = [localize(a, stack["hosts"], stack["paths"]) for a in documented[1:]]
    argv[argv.index("app")], argv[argv.index("acme-robotics")] = args[0], args[1]
    done = subprocess.run(
        [sys.executable, "-m", "ragbench.cli", *argv, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, **stack["env"]},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["key"]


def test_the_deployed_stack_ingests_answers_with_the_llm_and_traces_to_the_mlflow_server(stack):
    api = f"http://localhost:{stack['ports'][8080]}"
    key = _keys_create(stack, "deploy-app", "deploy-co")
    text = b"Deploy Co's on-call engineer must acknowledge a page within 7 minutes."
    accepted = call(
        api,
        "POST",
        "/v1/tenants/deploy-co/ingest",
        key=key,
        json={"files": [{"name": "oncall.txt", "content_base64": base64.b64encode(text).decode()}]},
    )
    assert accepted.status_code == 202, accepted.text
    deadline, state = time.time() + 180, None
    while time.time() < deadline and state not in ("finished", "error"):
        time.sleep(0.5)
        view = call(api, "GET", accepted.json()["poll"], key=key).json()  # any of the 2 workers may answer
        state = view["state"]
    assert state == "finished" and view["job"]["completed"] == 1, view
    # the compose command keeps the default trace sample (10%, by salted request id): one id in it, one out
    from ragbench.tracking.traces import is_sampled

    ids = [f"deploy-{i}" for i in range(200)]
    traced = next(i for i in ids if is_sampled(i, 0.1, TRACE_SALT))
    untraced = next(i for i in ids if not is_sampled(i, 0.1, TRACE_SALT))
    for request_id in (untraced, traced):
        answer = call(
            api,
            "POST",
            "/v1/query",
            key=key,
            headers={"X-Request-ID": request_id},
            json={"tenant": "deploy-co", "question": "How fast must the on-call engineer acknowledge a page?"},
        )
        assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["answer"] and body["error"] is None and body["sources"][0]["text"] == text.decode()
    assert call(api, "POST", "/v1/query", key=key, json={"tenant": "acme-robotics", "question": "q"}).status_code == 403
    ready = call(api, "GET", "/readyz").json()
    assert {c["service"]: c["ok"] for c in ready["checks"]} == {
        "LanceDB": True,
        "LLM endpoint": True,
        "MLflow": True,
        "rate limits": True,
    }
    from mlflow import MlflowClient

    client = MlflowClient(f"http://127.0.0.1:{stack['ports'][5000]}")
    exp = client.get_experiment_by_name("ragbench").experiment_id
    deadline, found = time.time() + 300, []
    while time.time() < deadline and not (found and len(found[0].data.spans) >= 3):
        found = client.search_traces(locations=[exp], filter_string=f"tags.request_id = '{traced}'")
        time.sleep(1)
    spans = {s.name: s for s in found[0].data.spans}
    assert not client.search_traces(locations=[exp], filter_string=f"tags.request_id = '{untraced}'")
    assert set(spans) == {"query", "retrieve", "generate"}
    assert spans["generate"].attributes["mlflow.llm.model"] == "smollm2-135m-instruct"
    assert not (stack["tmp"] / "ragbench" / "mlflow.db").exists()  # traces went to the server, not a local file
