"""Work units for parallel test runs (`make test` runs pytest-xdist on two workers).

Some session fixtures start something expensive: a vLLM server, the SciFact embedding, the dashboard,
the query service, Ray. Each should be built in one worker only, and every module fixture once. So a
work unit is a test file, merged with every other file that uses the same heavy fixture (a union of
files over shared fixtures). Tests under ``tests/scale`` share the session's Ray instance and start
Ray processes of their own, so they are one unit as well.

Why not xdist's own ``--dist loadgroup``: it tags each item by rewriting ``item._nodeid``, which
pytest 9 no longer reads (node ids live in ``item._id``), so its groups are silently ignored; and
which fixtures a test uses is known only where tests are collected (the workers), not in the
controller that schedules. The workers therefore write each test's unit to a file the controller
named (``RAGBENCH_XDIST_UNITS``), and :class:`UnitScheduling` reads it.

Every test that uses a vLLM engine fixture (:data:`VLLM_FIXTURES`) is in one unit too, so only one
worker ever holds vLLM servers: those fixtures live for the whole session, and when both workers held
theirs (two servers and two engine processes each, beside a 5 GB worker) the 24 GB machine ran out of
memory, the kernel killed a worker and the run did not finish within CI's 90 minutes.

Units are ordered heaviest first (the heavy-fixture units, then by number of tests), so that a long
unit never starts last and leaves the other worker idle.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

ENV = "RAGBENCH_XDIST_UNITS"

# Expensive session fixtures, most expensive first (the order units start in).
HEAVY_SESSION_FIXTURES = (
    "scifact_runs",  # embeds the 5,183 SciFact abstracts with MiniLM
    "dashboard_home",  # demo ingest, MLflow runs, the Panel server
    "service_home",  # demo ingest and `ragbench serve`
    "ray_cluster",  # a local Ray instance
)

# Fixtures that start a vLLM engine or server (or the real model's in-process engines): their tests
# form one unit, named after the first, ranked right after SciFact's.
VLLM_FIXTURES = ("real_llm_server", "vllm_server", "judge_server", "real_llm")
VLLM_UNIT = "fixture:vllm"


def _uses_vllm(item) -> bool:
    return bool(set(VLLM_FIXTURES) & set(getattr(item, "fixturenames", ())))


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def work_units(items) -> dict[str, str]:
    """Work unit per test node id: its file, merged with every file that uses the same heavy fixture."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:  # a fixture's name wins, so a unit is named after what makes it heavy
            if rb.startswith("fixture:") and not ra.startswith("fixture:"):
                ra, rb = rb, ra
            parent[rb] = ra

    for item in items:
        file = _file(item.nodeid)
        find(file)
        for name in HEAVY_SESSION_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                union(f"fixture:{name}", file)
        if _uses_vllm(item):
            union(VLLM_UNIT, file)
        if file.startswith("tests/scale/"):
            union("fixture:ray_cluster", file)
    return {item.nodeid: find(_file(item.nodeid)) for item in items}


def order_heaviest_first(items, units: dict[str, str]) -> None:
    """Reorder ``items`` in place: heavy-fixture units first (SciFact's, then the vLLM unit, then the rest
    of :data:`HEAVY_SESSION_FIXTURES`), then larger units; a unit stays contiguous."""
    size = Counter(units.values())
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        first.setdefault(units[item.nodeid], i)
    order = [f"fixture:{HEAVY_SESSION_FIXTURES[0]}", VLLM_UNIT, *(f"fixture:{n}" for n in HEAVY_SESSION_FIXTURES[1:])]
    rank = {name: i for i, name in enumerate(order)}
    key = {
        item.nodeid: (
            rank.get(units[item.nodeid], len(order)),
            -size[units[item.nodeid]],
            first[units[item.nodeid]],
            i,
        )
        for i, item in enumerate(items)
    }
    items.sort(key=lambda item: key[item.nodeid])


# In a worker of a parallel run: each test's unit, and the units holding tests with a vLLM fixture.
_UNITS: dict[str, str] = {}
_VLLM_UNITS: set[str] = set()


def leaving_vllm_unit(item, nextitem) -> bool:
    """True after the last test of a unit with vLLM fixtures in a parallel run (never in one process,
    where those tests are spread over the whole run)."""
    unit = _UNITS.get(item.nodeid)
    if unit is None or unit not in _VLLM_UNITS:
        return False
    return nextitem is None or _UNITS.get(nextitem.nodeid) != unit


def configure(config) -> None:
    """Share the machine between the workers of a parallel run (called from ``pytest_configure``).

    In the controller, before the workers start: name the file the workers write their units to,
    and give each worker (and every process it starts: the dashboard, the CLI) ``OMP_NUM_THREADS`` =
    cores // workers unless it is set. Without it every torch process opens one OpenMP thread per
    core, and two workers embedding at once spin on each other's cores.

    In a worker: bind vLLM's CPU engines (in-process, and servers it starts) to the worker's own
    cores (``VLLM_CPU_OMP_THREADS_BIND``). vLLM binds to every core by default, and two engines
    bound to the same cores slowed each other down so far that a SmolLM2 server was not healthy
    after 240 s and the judge tests next to it took 494 s instead of about 85 s.
    """
    cores = os.cpu_count() or 1
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        index = int(str(worker.get("workerid", "gw0")).removeprefix("gw") or 0)
        count = max(1, int(worker.get("workercount", 1)))
        if count > 1 and "VLLM_CPU_OMP_THREADS_BIND" not in os.environ:
            per = max(1, cores // count)
            first = (index * per) % cores
            os.environ["VLLM_CPU_OMP_THREADS_BIND"] = f"{first}-{first + per - 1}" if per > 1 else str(first)
        return
    workers = getattr(config.option, "numprocesses", None)
    if not workers:
        return
    os.environ[ENV] = str(Path(tempfile.mkdtemp(prefix="ragbench-xdist-")) / "units.json")
    count = workers if isinstance(workers, int) else cores
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cores // max(1, count))))


def record(items) -> None:
    """In a worker of a parallel run: order the items and write each test's unit for the controller."""
    target = os.environ.get(ENV)
    if not target or "PYTEST_XDIST_WORKER" not in os.environ:
        return
    units = work_units(items)
    order_heaviest_first(items, units)
    _UNITS.update(units)
    _VLLM_UNITS.update(units[item.nodeid] for item in items if _uses_vllm(item))
    tmp = Path(f"{target}.{os.environ['PYTEST_XDIST_WORKER']}")
    tmp.write_text(json.dumps(units))
    os.replace(tmp, target)  # every worker writes the same units: the last rename wins, never a torn file


def make_scheduler(config, log):
    """The scheduler for ``-n N`` with the default ``--dist load`` (or ``loadgroup``); None otherwise."""
    if config.getoption("dist") not in ("load", "loadgroup") or not os.environ.get(ENV):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        """xdist's scope scheduling with our work units as the scopes, in the workers' order."""

        def __init__(self, config, log=None) -> None:
            super().__init__(config, log)
            config.option.loadscopereorder = False  # keep the heaviest-first order of the collection
            self._units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._units is None:
                self._units = json.loads(Path(os.environ[ENV]).read_text())
            return self._units.get(nodeid) or _file(nodeid)

    return UnitScheduling(config, log)
