"""Turn packaged weights into verified model folders under ``<models dir>/<name>/``.

A prepared folder is a Hugging Face model folder (``config.json``, ``model.safetensors``,
tokenizer files, ``chat_template.jinja`` for chat models) plus ``ragbench-model.json``: the
catalogue entry, the source file and its checksum, and the size and SHA-256 of every file.
Preparation is idempotent (a verified folder is left as it is), atomic (built aside, then
renamed into place, so a killed run leaves no half folder) and serialised by a file lock
(two processes never convert the same model at once).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragbench.errors import ModelError
from ragbench.models.catalog import CATALOG, ModelEntry, get_entry

MANIFEST = "ragbench-model.json"
MANIFEST_VERSION = 1


def default_models_dir() -> Path:
    """``$RAGBENCH_MODELS_DIR``, else ``<home>/models`` (home: ``$RAGBENCH_HOME`` or ``<project>/.ragbench``)."""
    env = os.environ.get("RAGBENCH_MODELS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    from ragbench.paths import project_root

    home = os.environ.get("RAGBENCH_HOME")
    return (Path(home).expanduser() if home else project_root() / ".ragbench").resolve() / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------- sources
def _package_dir(entry: ModelEntry) -> Path:
    spec = importlib.util.find_spec(entry.package)  # finds the package without importing it
    if spec is None or not spec.origin:
        raise ModelError(
            f"Model {entry.name!r} needs the package {entry.package!r}, which is not installed. "
            f"Install it with: {entry.install}  (then run: ragbench models prepare {entry.name})"
        )
    return Path(spec.origin).parent


def source_file(entry: ModelEntry, workdir: Path) -> Path:
    """The entry's GGUF file on this machine, checked against its expected checksum."""
    folder = _package_dir(entry)
    if entry.assemble:
        module = importlib.import_module(entry.package)
        path = Path(getattr(module, entry.assemble)(workdir / "source.gguf"))
    else:
        path = folder / entry.gguf_file
    if not path.is_file():
        raise ModelError(f"{path} is missing although {entry.package!r} is installed: reinstall it ({entry.install}).")
    if entry.gguf_sha256 and sha256_file(path) != entry.gguf_sha256:
        raise ModelError(
            f"{path} does not have the expected SHA-256 {entry.gguf_sha256[:12]}...: the package is not the "
            f"version ragbench knows. Reinstall it with: {entry.install}"
        )
    return path


def _convert_gguf(entry: ModelEntry, gguf: Path, out: Path) -> None:
    """Dequantise a GGUF into a float32 safetensors folder (transformers refuses to save a GGUF-loaded model)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ragbench.errors import require

    require("gguf", package="gguf==0.19.0")
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if not entry.chat:  # base models (Gemma 3): without a BOS token they write garbage
        tok.add_bos_token = True
        if hasattr(tok, "update_post_processor"):
            tok.update_post_processor()
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in result.missing_keys if "lm_head" not in k]  # tied embeddings are rebuilt
    if missing or result.unexpected_keys:
        raise ModelError(
            f"Converting {gguf.name}: weights did not match ({missing[:3]}, {result.unexpected_keys[:3]})."
        )
    model.tie_weights()
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out)
    tok.save_pretrained(out)


def _build(entry: ModelEntry, out: Path, workdir: Path) -> dict[str, Any]:
    if entry.source == "builder":
        from ragbench.testing.tiny_qwen2 import build_tiny_qwen2

        build_tiny_qwen2(out)
        return {"kind": "builder", "builder": "ragbench.testing.tiny_qwen2.build_tiny_qwen2"}
    gguf = source_file(entry, workdir)
    _convert_gguf(entry, gguf, out)
    return {
        "kind": "gguf",
        "package": entry.package,
        "file": gguf.name,
        "sha256": entry.gguf_sha256 or sha256_file(gguf),
    }


# ---------------------------------------------------------------------------- manifest
def _file_table(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name: {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def verify_model(folder: str | os.PathLike, *, checksums: bool = True) -> list[str]:
    """Problems of a prepared folder (``[]``: sound). Without ``checksums`` only sizes are compared (fast)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return [f"{folder / MANIFEST} is missing or unreadable"]
    problems = []
    for name, facts in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != facts["bytes"]:
            problems.append(f"{name} has {path.stat().st_size} bytes, expected {facts['bytes']}")
        elif checksums and sha256_file(path) != facts["sha256"]:
            problems.append(f"{name} does not match its SHA-256")
    return problems


@contextlib.contextmanager
def _lock(models_dir: Path, name: str) -> Iterator[None]:
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def prepare_model(
    name: str, models_dir: str | os.PathLike | None = None, *, force: bool = False, progress: bool = True
) -> Path:
    """Prepare catalogue model ``name`` under ``models_dir`` (default :func:`default_models_dir`).

    Returns the folder. A folder that already verifies (sizes) is returned as is unless ``force``.

    Example:
        >>> path = prepare_model("smollm2-135m-instruct")  # doctest: +SKIP
        >>> (path / "config.json").is_file()  # doctest: +SKIP
        True
    """
    entry = get_entry(name)
    models_dir = Path(models_dir).expanduser().resolve() if models_dir else default_models_dir()
    out = models_dir / entry.name
    if not force and not verify_model(out, checksums=False):
        return out
    with _lock(models_dir, entry.name):
        if not force and not verify_model(out, checksums=False):
            return out  # another process prepared it while we waited
        _say(progress, f"preparing model {entry.name} into {out} (one time; about a minute on 2 cores) ...")
        start = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=models_dir))
        try:
            work = tmp / "_work"
            work.mkdir()
            folder = tmp / "model"
            folder.mkdir()
            source = _build(entry, folder, work)
            manifest = {
                "manifest_version": MANIFEST_VERSION,
                "name": entry.name,
                "description": entry.description,
                "chat": entry.chat,
                "random_weights": entry.random_weights,
                "license": entry.license,
                "max_model_len": entry.max_model_len,
                "source": source,
                "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "files": _file_table(folder),
            }
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            if out.exists():
                shutil.rmtree(out)
            os.rename(folder, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _say(progress, f"prepared {entry.name} in {time.perf_counter() - start:.0f}s: {out}")
    return out


def _say(progress: bool, text: str) -> None:
    if progress:
        import sys

        print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- resolution
LLM_HINT = (
    f"pass a local folder holding config.json, or a catalogue model ({', '.join(CATALOG)}; "
    "see `ragbench models list`, prepared with `ragbench models prepare NAME`)"
)


def check_model_dir(model: str | os.PathLike, *, what: str = "Model", hint: str = LLM_HINT) -> Path:
    """``model`` as a resolved path if it is a local Hugging Face model folder, else a clear :class:`ModelError`.

    Used for every model ragbench loads (LLMs, BGE-M3, rerankers): a missing folder is never handed
    to a library that would try a hub download instead. ``hint`` says where such a folder comes from.
    """
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"{what} folder {str(model)!r} does not exist. ragbench runs offline and never downloads weights: {hint}."
        )
    if not (path / "config.json").is_file():
        raise ModelError(
            f"{path} has no config.json, so it is not a Hugging Face model folder. "
            f"It holds: {', '.join(sorted(p.name for p in path.iterdir())[:10]) or '(nothing)'}."
        )
    return path.resolve()


def ensure_model(model: str | os.PathLike, *, progress: bool = True) -> Path:
    """A usable model folder for ``model``, preparing catalogue models on first use.

    ``model`` is a catalogue name (prepared under :func:`default_models_dir`), a path whose last
    part is a catalogue name (prepared there when missing or damaged), or any local Hugging Face
    model folder (used as it is).

    Example:
        >>> ensure_model("smollm2-135m-instruct")  # doctest: +SKIP
        PosixPath('/work/ragbench/.ragbench/models/smollm2-135m-instruct')
    """
    text = str(model)
    if text in CATALOG:
        return prepare_model(text, progress=progress)
    path = Path(text).expanduser()
    if path.name in CATALOG and (not path.is_dir() or read_manifest(path) is not None):
        if verify_model(path, checksums=False):
            return prepare_model(path.name, path.parent, progress=progress, force=path.exists())
        return path.resolve()
    return check_model_dir(path)


def model_info(folder: str | os.PathLike) -> dict[str, Any]:
    """What is known of a model folder: its manifest (catalogue models) or ``{}``."""
    return read_manifest(Path(folder)) or {}
