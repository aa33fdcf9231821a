"""The deployment recipe holds together: compose and Kubernetes run the same commands, every command is a
real ragbench / vLLM / MLflow command line (parsed by that program's own parser), ports, URLs, probes and
volumes agree, and every service has health checks and a restart policy. No container engine is needed."""

from __future__ import annotations

import pytest

from tests.deploy.manifests import (
    compose_file,
    compose_services,
    k8s_documents,
    k8s_services,
    served_port,
    urls,
)

K8S_NAMES = {"models": "ragbench-models", "vllm": "vllm", "mlflow": "mlflow", "api": "api", "dashboard": "dashboard"}


def test_compose_and_kubernetes_run_the_same_services_and_commands():
    compose, k8s = compose_services(), k8s_services()
    assert set(compose) == set(K8S_NAMES) and set(k8s) == set(K8S_NAMES.values())
    for name, k8s_name in K8S_NAMES.items():
        assert compose[name].command == k8s[k8s_name].command, name
        named = {v for v in compose[name].mounts if not v.startswith("./")}  # ./users.yaml: a Secret in k8s
        assert named == set(k8s[k8s_name].mounts), name


@pytest.mark.parametrize("name", ["models", "api", "dashboard"])
def test_ragbench_commands_parse_and_their_overrides_compose(name):
    from ragbench.cli import build_parser
    from ragbench.config import RunSettings, compose

    argv = compose_services()[name].command
    assert argv[0] == "ragbench"
    args = build_parser().parse_args(argv[1:])  # argparse exits (SystemExit) on an unknown option
    overrides = getattr(args, "overrides", None) or []
    if overrides:
        cfg = compose(overrides)  # an unknown config key or group fails here
        assert RunSettings.from_config(cfg).home.as_posix() == "/data/ragbench"
        assert cfg.generator._target_ == "ragbench.generators.OpenAIGenerator"
        assert cfg.tracking.tracking_uri == "http://mlflow:5000"


def test_the_mlflow_command_is_mlflow_server_with_a_database_backend():
    from mlflow.cli import cli

    argv = compose_services()["mlflow"].command
    assert argv[:2] == ["mlflow", "server"]
    ctx = cli.get_command(None, "server").make_context("server", argv[2:])  # click raises on a bad option
    assert ctx.params["backend_store_uri"].startswith("sqlite:////data/mlflow/")
    assert ctx.params["serve_artifacts"] and ctx.params["port"] == 5000


def test_the_vllm_command_parses_with_vllms_own_parser():
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    argv = compose_services()["vllm"].command
    assert argv[:3] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    args = make_arg_parser(FlexibleArgumentParser()).parse_args(argv[3:])
    assert args.model == "/models/smollm2-135m-instruct" and args.port == 8000
    assert args.served_model_name == ["smollm2-135m-instruct"]


def test_ports_urls_and_probes_agree():
    services = compose_services()
    ports = {name: served_port(s) for name, s in services.items() if s.option("--port")}
    assert ports == {"vllm": 8000, "mlflow": 5000, "api": 8080, "dashboard": 5006}
    for name, s in services.items():
        for host, port in urls(s):  # a URL names another service at the port it listens on
            assert ports.get(host) == port, (name, host, port)
        for probe in s.probes:
            assert probe == "file" or probe.split(":")[1].startswith(f"{ports[name]}/"), (name, probe)
        assert s.ports <= {ports.get(name)}, name
    for name, s in k8s_services().items():
        if name != "ragbench-models":  # the one-shot job listens on nothing
            assert s.probes and all(p.split(":")[1].split("/")[0] == str(served_port(s)) for p in s.probes), name
            assert s.ports == {served_port(s)}, name
    for doc in k8s_documents():
        if doc["kind"] == "Service":
            [port] = doc["spec"]["ports"]
            assert port["targetPort"] == port["port"] == ports[doc["metadata"]["name"]]


def test_probe_hosts_are_names_the_services_answer_to():
    s = compose_services()
    assert {"localhost:8080", "api:8080"} <= {
        s["api"].command[i + 1] for i, a in enumerate(s["api"].command) if a == "--allowed-host"
    }
    assert {"mlflow:5000", "127.0.0.1:5000", "localhost:5000"} <= set(s["mlflow"].option("--allowed-hosts").split(","))
    assert s["dashboard"].option("--allow-websocket-origin") == "localhost:5006"
    assert [p.split("/")[0] for p in s["api"].probes] == ["localhost:8080"]
    for name, k in k8s_services().items():
        if name in ("api", "dashboard", "mlflow"):
            assert {p.split("/")[0] for p in k.probes} == {f"localhost:{served_port(k)}"}, name


def test_volumes_are_declared_shared_and_mounted_where_the_commands_look():
    spec, s = compose_file(), compose_services()
    declared = set(spec["volumes"])
    for name, service in s.items():
        assert {v for v in service.mounts if not v.startswith("./")} <= declared, name
    home = s["api"].override("home")
    assert s["api"].mounts["ragbench-data"] == s["dashboard"].mounts["ragbench-data"] == home
    assert s["dashboard"].override("home") == home
    assert s["models"].option("--dir") == s["models"].mounts["models"] == s["vllm"].mounts["models"].split(":")[0]
    assert s["vllm"].option("--model").startswith(s["models"].option("--dir") + "/")
    db = s["mlflow"].option("--backend-store-uri").removeprefix("sqlite:///")
    assert db.startswith(s["mlflow"].mounts["mlflow-data"] + "/")
    claims = {d["metadata"]["name"] for d in k8s_documents() if d["kind"] == "PersistentVolumeClaim"}
    assert {v for k in k8s_services().values() for v in k.mounts} == claims == declared


def test_every_service_has_health_checks_and_a_restart_policy():
    spec = compose_file()["services"]
    for name, service in compose_services().items():
        assert service.probes and spec[name]["healthcheck"]["retries"] >= 3, name
        assert service.restart == ("on-failure" if name == "models" else "unless-stopped"), name
    depends = {n: set(s.get("depends_on", {})) for n, s in spec.items()}
    assert depends["api"] == depends["dashboard"] == {"vllm", "mlflow"} and depends["vllm"] == {"models"}
    for doc in k8s_documents():
        if doc["kind"] == "Deployment":
            [c] = doc["spec"]["template"]["spec"]["containers"]
            assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(c), doc["metadata"]["name"]
            assert doc["spec"]["template"]["spec"]["restartPolicy"] == "Always"
        if doc["kind"] == "Job":
            assert doc["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    api_probe = next(d for d in k8s_documents() if d["metadata"]["name"] == "api" and d["kind"] == "Deployment")
    assert api_probe["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"
