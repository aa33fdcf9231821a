"""Where ingestion and evaluation run: ``local`` (this process) or ``ray`` (configs/executor/).

Ray is imported only when a Ray executor is used (``ragbench --help`` stays fast); the Ray parts
live next to what they distribute: :mod:`ragbench.ingestion._ray` and :mod:`ragbench.evaluation._ray`.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from ragbench.errors import ConfigError, MissingDependencyError

T = TypeVar("T")

KINDS = ("local", "ray")


@dataclass(frozen=True)
class ExecutorSettings:
    """The ``executor`` group of the config, checked.

    Attributes:
        kind: ``local`` or ``ray``.
        address: ``local`` (start Ray here), ``auto`` (join the running cluster), ``host:port`` (a
            head's GCS address) or ``ray://host:port`` (Ray Client).
        num_cpus: CPUs of a Ray started here (``None``: all).
        batch_size: Documents or questions per actor call.
        actors: Actors per model.
        actor_cpus: CPUs reserved per actor.
        max_retries: Restarts of a killed actor and retries of its calls.

    Example:
        >>> ExecutorSettings.from_config({"kind": "ray", "actors": 2}).actors
        2
    """

    kind: str = "local"
    address: str = "local"
    num_cpus: int | None = None
    batch_size: int = 64
    actors: int = 1
    actor_cpus: float = 1.0
    max_retries: int = 3

    @property
    def is_ray(self) -> bool:
        return self.kind == "ray"

    @classmethod
    def from_config(cls, node: Any) -> ExecutorSettings:
        """Read the ``executor`` node (``None``: local); a bad value is a :class:`ConfigError` saying how to fix it."""
        if node is None:
            return cls()
        values = dict(node.items()) if hasattr(node, "items") else None
        if values is None:
            raise ConfigError(f"executor={node!r} is not valid: choose executor=local or executor=ray.")
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                f"executor has unknown key(s) {unknown}; valid keys: {sorted(cls.__dataclass_fields__)} "
                "(configs/executor/ray.yaml)."
            )
        settings = cls(**values)
        settings._check()
        return settings

    def _check(self) -> None:
        def whole(value, least: int) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value >= least

        address = str(self.address)
        rules = [
            ("kind", self.kind, self.kind in KINDS, "local or ray (executor=local|ray)"),
            (
                "address",
                self.address,
                address in ("local", "auto") or bool(re.fullmatch(r"(ray://)?[\w.\-]+:\d+", address)),
                "local (start Ray here), auto (join the cluster of `ray start --head`), <host>:<port> (a head's "
                "GCS address) or ray://<host>:<port> (Ray Client)",
            ),
            ("num_cpus", self.num_cpus, self.num_cpus is None or whole(self.num_cpus, 1), "null or an integer >= 1"),
            ("batch_size", self.batch_size, whole(self.batch_size, 1), "an integer >= 1"),
            ("actors", self.actors, whole(self.actors, 1), "an integer >= 1 (actors per model)"),
            (
                "actor_cpus",
                self.actor_cpus,
                isinstance(self.actor_cpus, (int, float)) and self.actor_cpus > 0,
                "a number > 0",
            ),
            ("max_retries", self.max_retries, whole(self.max_retries, 0), "an integer >= 0"),
        ]
        for name, value, ok, valid in rules:
            if not ok:
                raise ConfigError(
                    f"executor.{name}={value!r} is not valid: it must be {valid}. Fix it with executor.{name}=..."
                )


def ensure_ray(settings: ExecutorSettings):
    """Ray, connected: the running session if there is one, else ``ray.init`` at ``settings.address``.

    Returns the imported ``ray`` module.
    """
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            'executor=ray needs Ray: pip install "ray[data]==2.60.0" (it is in ragbench\'s dependencies).'
        ) from exc
    if not ray.is_initialized():
        _init(ray, settings)
    return ray


def in_order(ray, actors: list, calls: Iterable[T], send: Callable[[Any, T], Any]) -> Iterator[tuple[T, Any]]:
    """``(call, result)`` for each of ``calls``, in their order: ``send(actor, call)`` starts a call on the
    actors in turn (it returns Ray's reference), at most two in flight per actor, and ``calls`` is read only
    as calls are sent (bounded memory). Ingestion and evaluation on Ray deal their batches this way."""
    pending: deque = deque()
    for n, call in enumerate(calls):
        pending.append((call, send(actors[n % len(actors)], call)))
        while len(pending) >= 2 * len(actors):
            call, ref = pending.popleft()
            yield call, ray.get(ref)
    while pending:
        call, ref = pending.popleft()
        yield call, ray.get(ref)


def kill_actors(ray, actors: Iterable) -> None:
    """Kill ``actors``, if Ray is still up (one whose session is gone already is skipped)."""
    for actor in actors:
        try:
            if ray is not None and ray.is_initialized():
                ray.kill(actor)
        except Exception:  # the session they belonged to is gone
            pass


def start_ray(ray, attempts: int = 3, **options: Any) -> None:
    """``ray.init(**options)``, tried again when a busy machine makes the node time out while starting.

    At load 10 on 2 cores Ray 2.60's raylet sometimes gives up after 30 s waiting for its metrics
    agent to come up ("The current node timed out during startup"); a second start usually works.
    """
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "120")
    for attempt in range(1, attempts + 1):
        try:
            ray.init(**options)
            return
        except Exception as exc:
            if "timed out during startup" not in str(exc) or attempt == attempts:
                raise
            ray.shutdown()


def _init(ray, settings: ExecutorSettings) -> None:
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if settings.address == "local":
        options["num_cpus"] = settings.num_cpus
        # workers import ragbench from the same checkout as the driver
        options["runtime_env"] = {"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}}
    else:
        options = {"address": settings.address, "log_to_driver": False}
    try:
        start_ray(ray, **options)
    except ConnectionError as exc:
        raise ConfigError(
            f"executor.address={settings.address!r}: no Ray cluster answered ({exc}). Start one with "
            "`ray start --head` (docs/scale.md) or use executor.address=local."
        ) from exc
