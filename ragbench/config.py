"""Config composition and the one wiring function that builds the object graph.

Configs live in ``configs/`` as Hydra config groups (dataset, embedder, store,
chunker, retriever, generator, metrics, tracking, method). :func:`compose` turns
``key=value`` overrides into a resolved config; :func:`build` instantiates it.

Instantiation follows ``_target_`` paths. Shared components are passed by name:
any constructor with a parameter called ``embedder``, ``store`` or ``dataset`` that the
config does not set receives the run's embedder, store or dataset, so ``retriever: dense``
needs no wiring in YAML; a method (``configs/method/``) also receives the run's ``retriever``
and ``generator``. Unknown keyword arguments are rejected with the accepted ones.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragbench.errors import ConfigError, suggest
from ragbench.paths import config_dir, project_root, shared_data_dir
from ragbench.protocols import Embedder, Generator, IngestStore, Retriever, Tracker

if TYPE_CHECKING:
    from ragbench.data.dataset import Dataset
    from ragbench.methods.base import Method
    from ragbench.metrics.registry import MetricSuite
    from ragbench.pipelines.rag import RAGPipeline

__all__ = [
    "Components",
    "RunSettings",
    "build",
    "compose",
    "config_dir",
    "group_options",
    "instantiate",
    "project_root",
    "shared_data_dir",
]

GROUPS = (
    "dataset",
    "embedder",
    "store",
    "chunker",
    "retriever",
    "generator",
    "llm",
    "metrics",
    "tracking",
    "prompt",
    "judge",
    "experiment",
    "method",
)


def _register_resolvers() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("rb.project_root"):
        OmegaConf.register_new_resolver("rb.project_root", lambda: str(project_root()))
        OmegaConf.register_new_resolver("rb.shared_data", lambda: str(shared_data_dir()))


def group_options(group: str) -> list[str]:
    """Config files available in a group, e.g. ``group_options("retriever")``."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def _check_overrides(overrides: Sequence[str]) -> None:
    """Reject unknown group options early, with close matches (Hydra's own message has none)."""
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        if not sep or "." in key or key not in GROUPS or "," in value or not value or value == "null":
            continue
        options = group_options(key)
        if value not in options:
            raise ConfigError(
                f"Unknown {key} option {value!r}.{suggest(value, options)} "
                f"Available {key} options: {', '.join(options)}. (configs/{key}/*.yaml)"
            )


def compose(overrides: Sequence[str] = (), *, config_name: str = "config"):
    """Compose ``configs/<config_name>.yaml`` with Hydra ``key=value`` overrides; returns a DictConfig.

    Example:
        >>> cfg = compose(["retriever=bm25", "k=5"])  # doctest: +SKIP
        >>> cfg.retriever._target_  # doctest: +SKIP
        'ragbench.retrievers.BM25Retriever'
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    _register_resolvers()
    _check_overrides(overrides)
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = hydra_compose(config_name=config_name, overrides=list(overrides))
    except HydraException as exc:
        raise ConfigError(f"Invalid configuration overrides {list(overrides)}: {exc}") from exc
    try:
        OmegaConf.resolve(cfg)
    except Exception as exc:
        raise ConfigError(f"Could not resolve the configuration: {exc}") from exc
    return cfg


# --------------------------------------------------------------------- instantiation
def _target(path: str):
    from hydra.utils import get_object

    try:
        return get_object(path)
    except Exception as exc:
        raise ConfigError(f"_target_ {path!r} cannot be imported: {exc}") from exc


def instantiate(node: Any, shared: Mapping[str, Any] | None = None) -> Any:
    """Build the object(s) described by a config node, injecting ``shared`` objects by parameter name."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(node, (DictConfig, ListConfig)):
        node = OmegaConf.to_container(node, resolve=True)
    shared = shared or {}
    if isinstance(node, list):
        return [instantiate(v, shared) for v in node]
    if not isinstance(node, dict):
        return node
    if "_target_" not in node:
        return {k: instantiate(v, shared) for k, v in node.items()}
    target = _target(node["_target_"])
    kwargs = {k: instantiate(v, shared) for k, v in node.items() if k != "_target_"}
    params = inspect.signature(target).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [k for k in kwargs if k not in params and not accepts_any]
    if unknown:
        accepted = [p for p in params if p not in ("self", "embedder", "store", "dataset", "retriever", "generator")]
        raise ConfigError(
            f"{node['_target_']} got unknown argument(s) {unknown}.{suggest(unknown[0], accepted)} "
            f"Accepted: {', '.join(accepted)}."
        )
    for name in shared:  # built only if this constructor takes it and the config leaves it unset
        if name in params and name not in kwargs and (obj := shared[name]) is not None:
            kwargs[name] = obj
    try:
        return target(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"Could not build {node['_target_']}: {exc}") from exc


@dataclass(frozen=True)
class RunSettings:
    """The run-level keys of ``configs/config.yaml``, typed and checked in one place.

    Example:
        >>> RunSettings.from_config(compose(["k=5"])).k  # doctest: +SKIP
        5
    """

    home: Path
    k: int
    batch_size: int
    index_batch_size: int
    index_commit_seconds: float
    max_queries: int | None
    progress: bool
    resume: bool | str
    max_failure_rate: float
    trace_sample: float
    system_metrics: str
    run_name: str | None
    variant: str | None

    @classmethod
    def from_config(cls, cfg) -> RunSettings:
        """Read and check the keys; a bad value is a :class:`ConfigError` naming the key and what is valid."""
        try:
            values = {name: cfg[name] for name in cls.__dataclass_fields__ if name != "home"}
            home = Path(str(cfg["home"])).expanduser()
        except Exception as exc:
            raise ConfigError(
                f"The configuration lacks a run setting ({exc}); compose it from configs/config.yaml."
            ) from exc
        settings = cls(home=home, **values)
        settings._check()
        return settings

    def _check(self) -> None:
        rules = [
            ("k", self.k, isinstance(self.k, int) and self.k >= 1, "an integer >= 1 (chunks retrieved per question)"),
            (
                "batch_size",
                self.batch_size,
                isinstance(self.batch_size, int) and self.batch_size >= 1,
                "an integer >= 1",
            ),
            (
                "index_batch_size",
                self.index_batch_size,
                isinstance(self.index_batch_size, int) and self.index_batch_size >= 1,
                "an integer >= 1",
            ),
            ("index_commit_seconds", self.index_commit_seconds, self.index_commit_seconds >= 0, "a number >= 0"),
            (
                "max_queries",
                self.max_queries,
                self.max_queries is None or (isinstance(self.max_queries, int) and self.max_queries >= 1),
                "null or >= 1",
            ),
            ("max_failure_rate", self.max_failure_rate, 0 <= self.max_failure_rate <= 1, "a share in [0, 1]"),
            ("trace_sample", self.trace_sample, 0 <= self.trace_sample <= 1, "a share in [0, 1] (0: no traces)"),
            (
                "system_metrics",
                self.system_metrics,
                str(self.system_metrics).lower() in ("auto", "true", "false"),
                "auto, true or false",
            ),
        ]
        for name, value, ok, valid in rules:
            if not ok:
                raise ConfigError(f"{name}={value!r} is not valid: {name} must be {valid}. Fix it with {name}=...")


class _Shared(Mapping):
    """The run's shared objects by constructor-parameter name, each built only when a constructor asks for it."""

    def __init__(self, parts: Components, names: tuple[str, ...]) -> None:
        self._parts, self._names = parts, names

    def __getitem__(self, name: str):
        if name not in self._names:
            raise KeyError(name)
        return getattr(self._parts, name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


SHARED = ("embedder", "store", "dataset")
# A method (configs/method/) is built from the run's retriever and generator as well.
METHOD_SHARED = (*SHARED, "retriever", "generator")


class Components:
    """The object graph of one run, built lazily from a config: each part is instantiated the first time
    it is used (``build(cfg).tracker`` builds the tracker only). :meth:`check` builds them all at once,
    so a bad setting fails before any work is done.

    Shared objects are passed by constructor-parameter name: a ``_target_`` whose constructor takes
    ``embedder``, ``store`` or ``dataset`` (and whose config leaves it unset) receives the run's own.
    """

    def __init__(self, cfg, *, reuse: Components | None = None) -> None:
        self.cfg = cfg
        self.shared = _Shared(self, SHARED)
        if reuse is not None:  # e.g. dashboard presets: one embedder and one store for every preset
            self.embedder, self.store = reuse.embedder, reuse.store

    @cached_property
    def settings(self) -> RunSettings:
        return RunSettings.from_config(self.cfg)

    @cached_property
    def embedder(self) -> Embedder | None:
        """The embedder, or ``None`` when no component needs one (a lexical-only run embeds nothing)."""
        consumers = [self.cfg.get(group) for group in ("retriever", "generator", "metrics", "method")]
        needed = self.cfg.get("embedder") and any(uses(node, "embedder") for node in consumers)
        return instantiate(self.cfg.embedder) if needed else None

    @cached_property
    def store(self) -> IngestStore:
        """The store, in the embedder's vector space (``lexical`` without one)."""
        store_cfg = dict(self.cfg.store)
        store_cfg["space"] = getattr(self.embedder, "space", None) or "lexical"
        return instantiate(store_cfg)

    @cached_property
    def chunker(self) -> Callable:
        return instantiate(self.cfg.chunker, self.shared)

    @cached_property
    def retriever(self) -> Retriever:
        return instantiate(self.cfg.retriever, self.shared)

    @cached_property
    def generator(self) -> Generator:
        return instantiate(self.cfg.generator, self.shared)

    @cached_property
    def metrics(self) -> MetricSuite:
        return instantiate(self.cfg.metrics, self.shared)

    @cached_property
    def tracker(self) -> Tracker:
        return instantiate(self.cfg.tracking, self.shared)

    @cached_property
    def dataset(self) -> Dataset:
        """The dataset, loaded on first use (queries do not need it), cut to ``max_queries``."""
        return instantiate(self.cfg.dataset).head(self.settings.max_queries)

    @cached_property
    def pipeline(self) -> RAGPipeline:
        from ragbench.pipelines.rag import RAGPipeline

        return RAGPipeline(self.retriever, self.generator, k=self.settings.k, method=self.method)

    @cached_property
    def method(self) -> Method | None:
        """The RAG method of ``configs/method/`` (``None`` when the config has no ``method``: standard RAG).

        Its constructor receives the run's ``retriever``, ``generator``, ``embedder``, ``store`` and
        ``dataset`` by parameter name, like any other part.
        """
        node = self.cfg.get("method")
        return instantiate(node, _Shared(self, METHOD_SHARED)) if node else None

    def check(self) -> Components:
        """Build every part now (constructors validate; no model is loaded), so errors come before any work."""
        parts = ("settings", "embedder", "store", "chunker", "retriever", "generator", "metrics", "tracker", "method")
        for name in parts:
            getattr(self, name)
        return self

    def warm_up(self, tenants: Sequence[str] = ()) -> float:
        """Build every part, load the query embedder and the generator's model and open the tenants'
        tables now, so that no question's timer counts a one-time load; returns the milliseconds it took.

        Example:
            >>> load_ms = build(compose(["retriever=dense"])).warm_up(["acme-robotics"])  # doctest: +SKIP
        """
        start = time.perf_counter()
        self.check()
        if self.embedder is not None and uses(self.cfg.get("retriever"), "embedder"):
            self.embedder.embed_queries(["warm-up"])
        for tenant in tenants:  # opens the table and its full-text index (built here if it is stale)
            if self.store.count(tenant):
                self.store.search_text(tenant, "warm-up", 1)
        if hasattr(self.generator, "warmup"):
            self.generator.warmup()
        return (time.perf_counter() - start) * 1000

    def __repr__(self) -> str:
        built = [
            name for name in ("embedder", "store", "retriever", "generator", "metrics", "tracker") if name in vars(self)
        ]
        return f"Components(built={built})"


def uses(node: Any, param: str) -> bool:
    """True if any ``_target_`` in ``node`` takes a parameter called ``param`` that the config leaves unset."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(node, (DictConfig, ListConfig)):
        node = OmegaConf.to_container(node, resolve=True)
    if isinstance(node, list):
        return any(uses(v, param) for v in node)
    if not isinstance(node, dict):
        return False
    if "_target_" in node and param not in node:
        if param in inspect.signature(_target(node["_target_"])).parameters:
            return True
    return any(uses(v, param) for k, v in node.items() if k != "_target_")


def build(cfg, *, reuse: Components | None = None) -> Components:
    """The object graph of ``cfg``; each part is built on first use (see :class:`Components`).

    ``reuse``: take the embedder and store of these components instead of building new ones.

    Example:
        >>> parts = build(compose(["retriever=bm25"]))  # doctest: +SKIP
        >>> parts.pipeline.ask(QueryRequest(question="...", tenant="acme-robotics"))  # doctest: +SKIP
    """
    return Components(cfg, reuse=reuse)


def load_dataset(name: str, **settings: Any):
    """The dataset of ``configs/dataset/<name>.yaml`` (the one dataset catalogue), ``settings`` overriding its keys.

    Example:
        >>> load_dataset("hotpotqa").name  # doctest: +SKIP
        'hotpotqa'
        >>> load_dataset("hf", path="/data/qa", tenant="acme", context_field="context")  # doctest: +SKIP
    """
    overrides = [f"dataset={name}", *(f"++dataset.{key}={value}" for key, value in settings.items())]
    return instantiate(compose(overrides).dataset)
