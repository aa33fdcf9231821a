"""Run names and trial labels from the overrides a user typed, e.g. ``demo·retriever=bm25·k=5``."""

from __future__ import annotations

from collections.abc import Sequence

# Keys that say where or how verbosely a run goes, not what it measures: left out of names.
PLACEMENT_KEYS = frozenset(
    {"home", "progress", "resume", "run_name", "models_dir", "generation_cache", "system_metrics", "dataset"}
)
# Groups whose every key is placement: ``executor=ray``, ``executor.actors=2`` (the results are the same).
PLACEMENT_GROUPS = frozenset({"executor"})


def _key(override: str) -> str:
    return override.lstrip("+~").partition("=")[0]


def _placement(key: str) -> bool:
    return key in PLACEMENT_KEYS or key.partition(".")[0] in PLACEMENT_GROUPS


def meaningful(overrides: Sequence[str]) -> list[str]:
    """The overrides that change what a run measures, in the order given (``home=...`` and the like dropped).

    Example:
        >>> meaningful(["home=/tmp/x", "retriever=bm25", "progress=false", "k=5"])
        ['retriever=bm25', 'k=5']
    """
    return [o.lstrip("+") for o in overrides if "=" in o and not _placement(_key(o))]


def name_from_overrides(dataset: str, overrides: Sequence[str]) -> str | None:
    """``<dataset>·<override>·...``; ``None`` when no override changes what is measured.

    Example:
        >>> name_from_overrides("demo", ["retriever=bm25", "k=5", "home=/tmp/x"])
        'demo·retriever=bm25·k=5'
    """
    parts = meaningful(overrides)
    return "·".join([dataset, *parts]) if parts else None


def compose_named(overrides: Sequence[str]):
    """:func:`ragbench.config.compose`, with ``run_name`` taken from the overrides unless one is set."""
    from ragbench.config import compose

    cfg = compose(overrides)
    if cfg.get("run_name") is None:
        name = name_from_overrides(str(cfg.dataset.get("name") or "run"), overrides)
        if name:
            cfg.run_name = name
    return cfg


def trial_label(combo: Sequence[str], swept: set[str]) -> str:
    """The swept part of a trial's overrides, e.g. ``retriever=dense k=5``."""
    return " ".join(o for o in combo if _key(o) in swept) or " ".join(meaningful(combo))


def swept_keys(combos: Sequence[Sequence[str]]) -> set[str]:
    """Keys whose value differs between the combinations of a sweep."""
    values: dict[str, set[str]] = {}
    for combo in combos:
        for o in combo:
            values.setdefault(_key(o), set()).add(o)
    return {k for k, v in values.items() if len(v) > 1}
