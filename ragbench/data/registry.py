"""The dataset loader catalogue: loaders people choose by name, with close-match suggestions.

Example:
    >>> sorted(available_loaders())[:3]
    ['beir', 'beir_tenants', 'exams']
    >>> ds = load_dataset("hotpotqa", path="hotpot_dev_distractor_v1.json")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

from ragbench.errors import RagbenchError, unknown_name

_LOADERS: dict[str, tuple[str, str]] = {}  # name -> (import path, one-line description)


def register_loader(name: str, target: str, description: str) -> None:
    """Add a loader (``"package.module.function"``, imported on use); duplicate names are rejected."""
    if name in _LOADERS:
        raise RagbenchError(f"Dataset loader {name!r} is already registered ({_LOADERS[name][0]}); choose another name.")
    _LOADERS[name] = (target, description)


def available_loaders() -> dict[str, str]:
    """``{name: description}`` of every registered loader."""
    return {name: desc for name, (_, desc) in sorted(_LOADERS.items())}


def get_loader(name: str) -> Callable:
    """The loader function called ``name``; unknown names get close matches."""
    if name not in _LOADERS:
        raise unknown_name("dataset loader", name, _LOADERS)
    from hydra.utils import get_object

    return get_object(_LOADERS[name][0])


def load_dataset(name: str, **kwargs):
    """Load a dataset with the loader called ``name`` (see :func:`available_loaders`)."""
    return get_loader(name)(**kwargs)


register_loader("beir", "ragbench.data.beir.load_beir", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
register_loader("beir_tenants", "ragbench.data.beir.load_tenant_folders", "one BEIR sub-folder per tenant")
register_loader("hotpotqa", "ragbench.data.loaders.load_hotpotqa", "official HotpotQA JSON (answers, supporting paragraphs)")
register_loader("musique", "ragbench.data.loaders.load_musique", "official MuSiQue JSON/JSONL (answers + aliases, supporting paragraphs)")
register_loader("flashrag", "ragbench.data.loaders.load_flashrag", "FlashRAG dataset JSONL (+ optional corpus JSONL)")
register_loader("exams", "ragbench.data.loaders.load_exams", "EXAMS multiple choice JSONL (hr, sr, mk, bg)")
register_loader("hf", "ragbench.data.loaders.load_hf_folder", "local Hugging Face `datasets` folder (save_to_disk)")
