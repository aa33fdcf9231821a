"""MLflow tracking with a sqlite backend under ``.ragbench/`` by default.

Folder tracking URIs are refused by MLflow 3.x, so the tracker always uses
``sqlite:///<abs path>/mlflow.db`` and an explicit artifact location.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError

_BAD_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def flatten_config(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a nested mapping into ``{"retriever.k": "10", ...}`` for MLflow params.

    Example:
        >>> flatten_config({"a": {"b": 1, "c": [1, 2]}})
        {'a.b': '1', 'a.c': '[1, 2]'}
    """
    out: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_config(value, prefix=f"{name}."))
        else:
            out[name] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return out


def metric_key(key: str) -> str:
    """MLflow-safe metric name: ``ndcg@10`` becomes ``ndcg_at_10``; other odd characters ``_``."""
    return _BAD_KEY.sub("_", key.replace("@", "_at_"))


class NullTracker:
    """Tracks nothing: for quick interactive use and tests that do not need MLflow."""

    run_id: str | None = None
    tracking_uri: str | None = None

    @contextmanager
    def start_run(
        self,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> Iterator[str | None]:
        yield run_id

    def log_config(self, config: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float]) -> None: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...

    def log_series(self, series: Mapping[str, Sequence[tuple[int, float, float]]]) -> None: ...

    def log_table(self, rows: list[dict], name: str) -> None: ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None: ...

    def log_input(self, frame, *, name: str, context: str = "evaluation") -> str | None:
        return None

    def log_figure(self, figure, artifact_file: str) -> None: ...

    def mark_killed(self, run_id: str, *, reason: str = "") -> bool:
        return False


class MLflowTracker:
    """Log runs to MLflow.

    Args:
        root: Folder for the sqlite db and artifacts (``.ragbench`` by default).
        experiment: MLflow experiment name.
        tracking_uri: Override the backend (e.g. ``sqlite:////abs/mlflow.db`` or an ``http://`` server).

    Example:
        >>> tracker = MLflowTracker(root="/tmp/rb")  # doctest: +SKIP
        >>> with tracker.start_run(run_name="demo"):  # doctest: +SKIP
        ...     tracker.log_metrics({"ndcg@10": 0.5})
    """

    def __init__(
        self, root: str | Path = ".ragbench", *, experiment: str = "ragbench", tracking_uri: str | None = None
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        if tracking_uri and not re.match(r"^(sqlite|postgresql|mysql|https?|databricks)", tracking_uri):
            raise ConfigError(
                f"tracking_uri {tracking_uri!r} is not supported: MLflow 3 refuses folder stores. "
                "Use sqlite:////abs/path/mlflow.db, an http(s):// server, or leave it empty for .ragbench/mlflow.db."
            )
        self.tracking_uri = tracking_uri or f"sqlite:///{self.root / 'mlflow.db'}"
        self.artifact_location = (self.root / "mlartifacts").as_uri()
        self.experiment = experiment
        self.run_id: str | None = None
        self._client = None
        self._experiment_id: str | None = None

    @property
    def client(self):
        if self._client is None:
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            from mlflow.tracking import MlflowClient

            self.root.mkdir(parents=True, exist_ok=True)
            self._create_db_atomically()
            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def _create_db_atomically(self) -> None:
        """Create a new sqlite tracking db under a temporary name, then link it into place.

        MLflow builds its schema in many migration steps; one that fails (a full disk) would leave a
        half-migrated ``mlflow.db`` that no later run can open. Built aside, a failure leaves nothing,
        and ``os.link`` never replaces a db another process created meanwhile.
        """
        prefix = "sqlite:///"
        db = Path(self.tracking_uri[len(prefix) :]) if self.tracking_uri.startswith(prefix) else None
        if db is None or db.exists():
            return
        from mlflow.tracking import MlflowClient

        tmp = db.with_name(f".{db.name}.{os.getpid()}.tmp")
        try:
            MlflowClient(tracking_uri=f"{prefix}{tmp}").search_experiments(max_results=1)  # creates the schema
            os.link(tmp, db)
        except FileExistsError:  # another process created it first: use theirs
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            exp = self.client.get_experiment_by_name(self.experiment)
            if exp is None:
                from mlflow.exceptions import MlflowException

                try:
                    self._experiment_id = self.client.create_experiment(
                        self.experiment, artifact_location=self.artifact_location
                    )
                    return self._experiment_id
                except MlflowException:  # another process made it first (e.g. two `ragbench serve` workers)
                    exp = self.client.get_experiment_by_name(self.experiment)
                    if exp is None:
                        raise
            self._experiment_id = exp.experiment_id
        return self._experiment_id

    @contextmanager
    def start_run(
        self,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> Iterator[str]:
        """Start (or, with ``run_id``, continue) a run; it ends FINISHED, or FAILED on an exception."""
        all_tags = dict(tags or {})
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        if run_id is None:
            run = self.client.create_run(self.experiment_id(), run_name=run_name, tags=all_tags)
            run_id = run.info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
        previous, self.run_id = self.run_id, run_id
        try:
            yield run_id
        except BaseException:
            try:
                self.client.set_terminated(run_id, status="FAILED")
            except Exception:
                pass
            raise
        else:
            self.client.set_terminated(run_id, status="FINISHED")
        finally:
            self.run_id = previous

    def mark_killed(self, run_id: str, *, reason: str = "") -> bool:
        """Set a run that is still RUNNING (its process died) to KILLED; False if it is not RUNNING here."""
        from mlflow.exceptions import MlflowException

        try:
            if self.client.get_run(run_id).info.status != "RUNNING":
                return False
        except MlflowException:  # not a run of this tracking backend
            return False
        if reason:
            self.client.set_tag(run_id, "ragbench.killed", reason)
        self.client.set_terminated(run_id, status="KILLED")
        return True

    def _active(self) -> str:
        if self.run_id is None:
            raise RuntimeError("No active run: call inside `with tracker.start_run(): ...`.")
        return self.run_id

    def log_config(self, config: Mapping[str, Any]) -> None:
        """Log the resolved config as params and as ``config.yaml``/``config.json`` artifacts."""
        from mlflow.entities import Param

        run_id = self._active()
        params = [Param(k[:250], v[:6000]) for k, v in flatten_config(config).items()]
        for i in range(0, len(params), 100):
            self.client.log_batch(run_id, params=params[i : i + 100])
        self.client.log_dict(run_id, dict(config), "config.json")
        import yaml

        self.client.log_text(run_id, yaml.safe_dump(dict(config), sort_keys=False), "config.yaml")

    def log_metrics(self, metrics: Mapping[str, float], *, step: int = 0) -> None:
        import time

        from mlflow.entities import Metric

        run_id = self._active()
        now = int(time.time() * 1000)
        items = [Metric(metric_key(k), float(v), now, step) for k, v in metrics.items() if v is not None]
        for i in range(0, len(items), 500):
            self.client.log_batch(run_id, metrics=items[i : i + 500])

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params (values as text) to the active run; MLflow refuses to change a param's value."""
        from mlflow.entities import Param

        self.client.log_batch(self._active(), params=[Param(k[:250], str(v)[:6000]) for k, v in params.items()])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags (values as text) on the active run."""
        from mlflow.entities import RunTag

        self.client.log_batch(self._active(), tags=[RunTag(k, str(v)[:5000]) for k, v in tags.items()])

    def log_series(self, series: Mapping[str, Sequence[tuple[int, float, float]]]) -> None:
        """Log time series ``{name: [(step, epoch seconds, value), ...]}`` as metric histories."""
        from mlflow.entities import Metric

        run_id = self._active()
        items = [
            Metric(metric_key(k), float(v), int(at * 1000), int(step))
            for k, points in series.items()
            for step, at, v in points
        ]
        for i in range(0, len(items), 500):
            self.client.log_batch(run_id, metrics=items[i : i + 500])

    def log_table(self, rows: list[dict], name: str) -> None:
        """Log rows as an MLflow table artifact (``<name>.json``, readable with ``mlflow.load_table``)."""
        import pandas as pd

        self.client.log_table(self._active(), data=pd.DataFrame(rows), artifact_file=f"{name}.json")

    def load_table(self, run_id: str, name: str = "per_question"):
        """Read back a table logged with :meth:`log_table` as a pandas DataFrame."""
        import tempfile

        import pandas as pd

        with tempfile.TemporaryDirectory() as tmp:
            path = self.client.download_artifacts(run_id, f"{name}.json", tmp)
            return pd.read_json(path, orient="split")

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self._active(), str(path), artifact_path)

    def log_input(self, frame, *, name: str, context: str = "evaluation") -> str:
        """Log a pandas DataFrame as the run's input dataset (``mlflow.data.from_pandas``); returns its digest.

        Example:
            >>> tracker.log_input(questions_frame, name="demo")  # doctest: +SKIP
            'a1b2c3d4'
        """
        import mlflow.data
        from mlflow.entities import DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        dataset = mlflow.data.from_pandas(frame, name=name)
        tags = [InputTag(key=MLFLOW_DATASET_CONTEXT, value=context)]
        self.client.log_inputs(self._active(), datasets=[DatasetInput(dataset._to_mlflow_entity(), tags=tags)])
        return dataset.digest

    def log_figure(self, figure, artifact_file: str) -> None:
        """Save a matplotlib figure as an artifact of the active run (e.g. ``figures/ci_forest.png``)."""
        self.client.log_figure(self._active(), figure, artifact_file)

    def resolve_run(self, ref: str) -> str:
        """The run id that ``ref`` names: a full id, a unique id prefix, or a run name (its newest run).

        Example:
            >>> tracker.resolve_run("dd38a3b8")  # doctest: +SKIP
            'dd38a3b84b0647ae8e0c104791731902'
        """
        runs = self.client.search_runs([self.experiment_id()], max_results=50_000, order_by=["start_time DESC"])
        by_id = [r for r in runs if r.info.run_id.startswith(ref)]
        named = [r for r in runs if r.info.run_name == ref]
        if len(by_id) == 1 or (by_id and by_id[0].info.run_id == ref):
            return by_id[0].info.run_id
        if not by_id and named:
            return named[0].info.run_id
        if by_id:
            listed = "; ".join(f"{r.info.run_id} ({r.info.run_name})" for r in by_id[:10])
            raise ConfigError(f"Run id prefix {ref!r} is ambiguous: it matches {listed}. Give more characters.")
        raise ConfigError(
            f"No run with id, id prefix or name {ref!r} in experiment {self.experiment!r} at {self.tracking_uri}. "
            "Give a run id or name printed by `ragbench run`, and the same home= as that run."
        )

    def __repr__(self) -> str:
        return f"MLflowTracker(tracking_uri={self.tracking_uri!r}, experiment={self.experiment!r})"
