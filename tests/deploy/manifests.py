"""Read the deployment recipe in ``deploy/``: services, their commands, ports, volumes and probes.

Shared by the manifest checks (tests/deploy/test_manifests.py) and the end-to-end test that starts the
same commands as plain processes (tests/deploy/test_processes.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
URL = re.compile(r"https?://([a-z0-9.-]+):(\d+)")


@dataclass
class Service:
    """One service of the recipe, as compose or a Kubernetes Deployment describes it."""

    name: str
    command: list[str]
    ports: set[int] = field(default_factory=set)  # container ports it publishes
    mounts: dict[str, str] = field(default_factory=dict)  # volume name -> mount path
    probes: list[str] = field(default_factory=list)  # health-check URLs (host:port/path)
    restart: str = ""

    def option(self, flag: str) -> str | None:
        """The value after ``flag`` in the command (``None`` if absent)."""
        return self.command[self.command.index(flag) + 1] if flag in self.command else None

    def override(self, key: str) -> str | None:
        """A Hydra override ``key=value``'s value in a ragbench command."""
        return next((a.split("=", 1)[1] for a in self.command if a.startswith(f"{key}=")), None)


def compose_file() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_services() -> dict[str, Service]:
    """The compose file's services (``entrypoint`` + ``command`` as one argv)."""
    out = {}
    for name, spec in compose_file()["services"].items():
        argv = [*spec.get("entrypoint", []), *spec["command"]]
        ports = {int(str(p).rsplit(":", 1)[1]) for p in spec.get("ports", [])}
        mounts = {}
        for v in spec.get("volumes", []):
            source, target = v.split(":")[:2]
            mounts[source] = target
        test = " ".join(spec.get("healthcheck", {}).get("test", []))
        probes = [f"{h}:{p}{path}" for h, p, path in re.findall(r"https?://([a-z0-9.-]+):(\d+)(/[a-z]*)", test)]
        if "os.stat" in test:
            probes.append("file")
        out[name] = Service(name, argv, ports, mounts, probes, spec.get("restart", ""))
    return out


def k8s_documents() -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def k8s_services() -> dict[str, Service]:
    """Deployments and Jobs of the Kubernetes manifests, by name."""
    out = {}
    for doc in k8s_documents():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        [container] = pod["containers"]
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in pod.get("volumes", [])
            if "persistentVolumeClaim" in v
        }
        mounts = {claims[m["name"]]: m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in claims}
        probes = []
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = container.get(kind, {}).get("httpGet")
            if get:
                host = next(
                    (h["value"].split(":")[0] for h in get.get("httpHeaders", []) if h["name"] == "Host"), "pod"
                )
                probes.append(f"{host}:{get['port']}{get['path']}")
        ports = {p["containerPort"] for p in container.get("ports", [])}
        argv = [*container.get("command", []), *container.get("args", [])]
        out[doc["metadata"]["name"]] = Service(
            doc["metadata"]["name"], argv, ports, mounts, probes, pod.get("restartPolicy", "Always")
        )
    return out


def served_port(service: Service) -> int:
    """The port a service's command listens on (``--port``)."""
    return int(service.option("--port"))


def urls(service: Service) -> list[tuple[str, int]]:
    """``(host, port)`` of every URL in the command (the services it calls)."""
    return [(h, int(p)) for a in service.command for h, p in URL.findall(a)]
