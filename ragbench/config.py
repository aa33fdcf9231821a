"""Config composition and the one wiring function that builds the object graph.

Configs live in ``configs/`` as Hydra config groups (dataset, embedder, store,
chunker, retriever, generator, metrics, tracking). :func:`compose` turns
``key=value`` overrides into a resolved config; :func:`build` instantiates it.

Instantiation follows ``_target_`` paths. Shared components are passed by name:
any constructor with a parameter called ``embedder``, ``store`` or ``dataset`` that the
config does not set receives the run's embedder, store or dataset, so ``retriever: dense``
needs no wiring in YAML. Unknown keyword arguments are rejected with the accepted ones.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError, suggest
from ragbench.paths import config_dir, project_root, shared_data_dir

GROUPS = (
    "dataset", "embedder", "store", "chunker", "retriever", "generator", "llm", "metrics", "tracking", "prompt", "judge",
    "experiment",
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
    except Exception as exc:  # noqa: BLE001 - OmegaConf raises many types; all are config errors
        raise ConfigError(f"Could not resolve the configuration: {exc}") from exc
    return cfg


# --------------------------------------------------------------------- instantiation
def _target(path: str):
    from hydra.utils import get_object

    try:
        return get_object(path)
    except Exception as exc:  # noqa: BLE001
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
        accepted = [p for p in params if p not in ("self", "embedder", "store", "dataset")]
        raise ConfigError(
            f"{node['_target_']} got unknown argument(s) {unknown}.{suggest(unknown[0], accepted)} "
            f"Accepted: {', '.join(accepted)}."
        )
    for name, obj in shared.items():
        if name in params and name not in kwargs and obj is not None:
            kwargs[name] = obj
    try:
        return target(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"Could not build {node['_target_']}: {exc}") from exc


@dataclass
class Components:
    """The object graph of one run, built from a config by :func:`build`."""

    cfg: Any
    embedder: Any
    store: Any
    chunker: Any
    retriever: Any
    generator: Any
    metrics: Any
    tracker: Any

    @cached_property
    def dataset(self):
        """The dataset, loaded on first use (queries do not need it)."""
        ds = instantiate(self.cfg.dataset)
        return ds.head(self.cfg.get("max_queries"))

    @cached_property
    def pipeline(self):
        from ragbench.pipelines.rag import RAGPipeline

        return RAGPipeline(self.retriever, self.generator, k=int(self.cfg.k))


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


def build(cfg) -> Components:
    """Instantiate every component of ``cfg`` and wire them together.

    Example:
        >>> parts = build(compose(["retriever=bm25"]))  # doctest: +SKIP
        >>> parts.pipeline.ask(QueryRequest(question="...", tenant="acme-robotics"))  # doctest: +SKIP
    """
    consumers = [cfg.get(group) for group in ("retriever", "generator", "metrics")]
    needed = cfg.get("embedder") and any(uses(node, "embedder") for node in consumers)
    # A lexical-only run (e.g. retriever=bm25) builds no embedder and embeds nothing.
    embedder = instantiate(cfg.embedder) if needed else None
    space = getattr(embedder, "space", None) or "lexical"
    store_cfg = dict(cfg.store)
    store_cfg["space"] = space
    store = instantiate(store_cfg)
    shared = {"embedder": embedder, "store": store}
    parts = Components(cfg=cfg, embedder=embedder, store=store, chunker=None, retriever=None, generator=None,
                       metrics=None, tracker=None)
    if any(uses(node, "dataset") for node in consumers):  # e.g. retriever=oracle reads the qrels
        shared["dataset"] = parts.dataset
    parts.chunker = instantiate(cfg.chunker, shared)
    parts.retriever = instantiate(cfg.retriever, shared)
    parts.generator = instantiate(cfg.generator, shared)
    parts.metrics = instantiate(cfg.metrics, shared)
    parts.tracker = instantiate(cfg.tracking, shared)
    return parts
