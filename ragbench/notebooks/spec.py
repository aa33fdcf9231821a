"""Notebook pipelines as config: ``configs/pipeline/<name>.yaml`` lists notebook stages.

A pipeline file looks like this::

    description: Ingest the demo, ask questions, evaluate.
    parameters:            # given to every stage; a stage's own parameters win
      config_name: config
    stages:
      - name: quickstart
        notebook: notebooks/01_quickstart.ipynb   # relative to the project root
        parameters:
          overrides: [max_queries=20]

Stage names are unique slugs (they name output files and MLflow runs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError, suggest

_STAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TOP_KEYS = {"description", "parameters", "stages"}
_STAGE_KEYS = {"name", "notebook", "parameters"}


@dataclass(frozen=True)
class Stage:
    """One notebook of a pipeline and the parameters papermill injects into it."""

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PipelineSpec:
    """A named, ordered list of notebook stages loaded from a YAML file.

    Example:
        >>> spec = load_pipeline("quickstart")  # doctest: +SKIP
        >>> [s.name for s in spec.stages]  # doctest: +SKIP
        ['quickstart']
    """

    name: str
    stages: list[Stage]
    source: Path
    description: str = ""

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        names = [s.name for s in self.stages]
        raise ConfigError(f"Pipeline {self.name!r} has no stage {name!r}.{suggest(name, names)} Stages: {', '.join(names)}.")


def pipeline_dir() -> Path:
    """``configs/pipeline``: where named pipelines live."""
    from ragbench.paths import config_dir

    return config_dir() / "pipeline"


def pipeline_names() -> list[str]:
    """Names of the pipelines in ``configs/pipeline/``."""
    folder = pipeline_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _resolve_source(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(f"Pipeline file {text!r} does not exist. Give a pipeline name ({', '.join(pipeline_names())}) or an existing .yaml file.")
        return path.resolve()
    path = pipeline_dir() / f"{text}.yaml"
    if not path.is_file():
        names = pipeline_names()
        raise ConfigError(
            f"Unknown pipeline {text!r}.{suggest(text, names)} Available pipelines: {', '.join(names) or '(none)'} "
            f"(files in {pipeline_dir()}); or pass the path of a pipeline .yaml file."
        )
    return path


def _stage(raw: Any, index: int, source: Path, defaults: Mapping[str, Any]) -> Stage:
    where = f"{source}: stages[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a mapping with 'name' and 'notebook', got {raw!r}.")
    unknown = sorted(set(raw) - _STAGE_KEYS)
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {unknown}.{suggest(unknown[0], _STAGE_KEYS)} Valid keys: {', '.join(sorted(_STAGE_KEYS))}.")
    name = raw.get("name")
    if not isinstance(name, str) or not _STAGE_NAME.fullmatch(name):
        raise ConfigError(f"{where}: stage name {name!r} is invalid; use 1-63 lowercase letters, digits, '-' or '_' (e.g. 'quickstart').")
    if not raw.get("notebook"):
        raise ConfigError(f"{where} ({name!r}) has no 'notebook': give the .ipynb path, relative to the project root.")
    from ragbench.paths import project_root

    notebook = Path(str(raw["notebook"])).expanduser()
    notebook = notebook if notebook.is_absolute() else project_root() / notebook
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise ConfigError(f"{where} ({name!r}): notebook {raw['notebook']!r} is not an existing .ipynb file (looked at {notebook}).")
    params = raw.get("parameters") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where} ({name!r}): 'parameters' must be a mapping, got {params!r}.")
    return Stage(name=name, notebook=notebook.resolve(), parameters={**defaults, **params})


def load_pipeline(name_or_path: str | Path) -> PipelineSpec:
    """Load ``configs/pipeline/<name>.yaml`` (or a pipeline file given by path) and check it.

    Raises:
        ConfigError: unknown pipeline (with close matches), malformed file, duplicate stage
            names or a notebook that does not exist.
    """
    import yaml

    source = _resolve_source(name_or_path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Pipeline file {source} is not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ConfigError(f"Pipeline file {source} must hold a mapping with a 'stages' list, got {type(raw).__name__}.")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source} has unknown key(s) {unknown}.{suggest(unknown[0], _TOP_KEYS)} Valid keys: {', '.join(sorted(_TOP_KEYS))}.")
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, Sequence) or isinstance(stages_raw, str) or not stages_raw:
        raise ConfigError(f"{source} needs a non-empty 'stages' list of {{name, notebook, parameters}} entries.")
    defaults = raw.get("parameters") or {}
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"{source}: top-level 'parameters' must be a mapping, got {defaults!r}.")
    stages = [_stage(s, i, source, defaults) for i, s in enumerate(stages_raw)]
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            raise ConfigError(f"{source}: stage name {stage.name!r} is used twice; stage names must be unique.")
        seen.add(stage.name)
    return PipelineSpec(name=source.stem, stages=stages, source=source, description=str(raw.get("description") or ""))


def parse_parameter(item: str) -> tuple[str, Any]:
    """Parse a ``KEY=VALUE`` command-line parameter; the value is read as YAML (``3``, ``[a, b]``, ``true``).

    Example:
        >>> parse_parameter("tenant=acme-robotics")
        ('tenant', 'acme-robotics')
        >>> parse_parameter("overrides=[k=5]")
        ('overrides', ['k=5'])
    """
    import yaml

    key, sep, value = item.partition("=")
    if not sep or not key.isidentifier():
        raise ConfigError(f"Parameter {item!r} is not KEY=VALUE with a Python identifier as KEY (e.g. tenant=acme-robotics).")
    try:
        return key, yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        return key, value
