"""MLflow tracking: the only package that imports mlflow.

Everything goes through an `MlflowClient` with explicit run ids, never the fluent API's
per-thread "active run", so that training tasks running on threads or Dask workers can
log their own runs without leaking or crossing them.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunStatus, RunTag
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from flows.settings import Paths, project_paths, tracking_uri

# MLflow accepts at most 1000 metrics per log_batch call.
_BATCH = 1000
_PYFUNC_MODEL = Path(__file__).with_name("pyfunc_model.py")
_PACKAGES = Path(__file__).resolve().parents[2]


class Tracker:
    """One tracking store (URI) and the operations nnflow performs on it."""

    def __init__(self, uri: str | None = None, paths: Paths | None = None):
        self.paths = paths or project_paths()
        self.uri = uri or tracking_uri(self.paths)
        self.client = MlflowClient(self.uri)

    # -- store and experiments -------------------------------------------------------
    def ensure_store(self) -> None:
        """Create the database (schema migrations) once, before any parallel work."""
        if self.uri.startswith("sqlite:"):
            db = Path(self.uri.removeprefix("sqlite:///"))
            db.parent.mkdir(parents=True, exist_ok=True)
        self.client.search_experiments(max_results=1)

    def experiment_id(self, name: str) -> str:
        """Get or create an experiment; embedded ones keep artifacts in mlruns/artifacts."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        location = None
        if self.uri.startswith("sqlite:"):
            location = (self.paths.artifacts / name).resolve().as_uri()
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except mlflow.exceptions.MlflowException:
            # Another process created it between our lookup and create.
            return self.client.get_experiment_by_name(name).experiment_id

    # -- runs ------------------------------------------------------------------------
    def start_run(
        self,
        experiment_id: str,
        run_name: str,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        tags = dict(tags or {})
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(experiment_id, run_name=run_name, tags=tags)
        return run.info.run_id

    def end_run(self, run_id: str, *, failed_reason: str | None = None) -> None:
        """Terminate a run: FINISHED, or FAILED with the one-line reason as a tag."""
        if failed_reason is None:
            self.client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
            return
        self.client.set_tag(run_id, "failure_reason", failed_reason[:5000])
        self.client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        entries = [Param(k, _param_str(v)) for k, v in params.items()]
        for i in range(0, len(entries), 100):
            self.client.log_batch(run_id, params=entries[i : i + 100])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        now = _now_ms()
        entries = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        self.client.log_batch(run_id, metrics=entries)

    def log_metric_history(self, run_id: str, key: str, values: Iterable[float]) -> None:
        """A whole history (step = iteration, from 1) in batches, not one call per step."""
        now = _now_ms()
        entries = [Metric(key, float(v), now, i) for i, v in enumerate(values, start=1)]
        for i in range(0, len(entries), _BATCH):
            self.client.log_batch(run_id, metrics=entries[i : i + _BATCH])

    def log_artifacts(self, run_id: str, directory: Path, artifact_path: str | None = None):
        self.client.log_artifacts(run_id, str(directory), artifact_path)

    def log_dataset(
        self,
        run_id: str,
        df: pd.DataFrame,
        *,
        source: str,
        digest: str,
        label: str,
        context: str = "train",
    ) -> None:
        """Record the data set as a run input, identified by the file's sha256."""
        with warnings.catch_warnings():
            # A local path matches two registered (identical) local source types.
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(
                df, source=source, targets=label, name=Path(source).stem, digest=digest[:36]
            )
        entity = DatasetInput(
            dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", context)]
        )
        self.client.log_inputs(run_id, datasets=[entity])

    def log_model(
        self,
        run_id: str,
        *,
        thetas_path: Path,
        preprocessing_path: Path,
        input_example: pd.DataFrame,
        predictions: pd.Series,
    ):
        """Log the pyfunc model `model` from code, linked to the run (an MLflow 3 LoggedModel)."""
        with warnings.catch_warnings():
            # Labels are integers by nature; MLflow's hint about missing ints is noise.
            warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
            return self._log_model(
                run_id,
                thetas_path,
                preprocessing_path,
                input_example,
                infer_signature(input_example, predictions, params={"predict_method": "predict"}),
            )

    def _log_model(self, run_id, thetas_path, preprocessing_path, input_example, signature):
        # Create the LoggedModel in the run's experiment ourselves: left to Model.log it
        # lands in the process-wide "active" experiment, where `runs:/` cannot find it.
        experiment_id = self.client.get_run(run_id).info.experiment_id
        logged = self.client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
        with using_tracking_uri(self.uri):  # Model.log builds its client from the global URI
            return mlflow.models.Model.log(
                artifact_path=None,
                name="model",
                flavor=mlflow.pyfunc,
                run_id=run_id,
                model_id=logged.model_id,
                python_model=str(_PYFUNC_MODEL),
                artifacts={"thetas": str(thetas_path), "preprocessing": str(preprocessing_path)},
                code_paths=[str(_PACKAGES / "nncore"), str(_PACKAGES / "flows")],
                signature=signature,
                input_example=input_example,
                pip_requirements=_pip_requirements(),
            )

    # -- reading back ----------------------------------------------------------------
    def get_run(self, run_id: str):
        return self.client.get_run(run_id)

    def find_run(self, run_id: str):
        """The run, or None when this store has no run with that id."""
        try:
            return self.client.get_run(run_id)
        except mlflow.exceptions.MlflowException:
            return None

    def experiment_name(self, experiment_id: str) -> str:
        return self.client.get_experiment(experiment_id).name

    def artifact_text(self, run_id: str, path: str) -> str | None:
        """A small text artifact's content, or None when the run has no such artifact."""
        with tempfile.TemporaryDirectory(prefix="nnflow-") as tmp:
            try:
                local = self.client.download_artifacts(run_id, path, tmp)
            except (mlflow.exceptions.MlflowException, OSError):
                return None
            return Path(local).read_text(encoding="utf-8")

    def download_artifact(self, run_id: str, path: str, dst: Path) -> Path:
        return Path(self.client.download_artifacts(run_id, path, str(dst)))


def load_model(uri: str, tracking: str | None = None):
    """Load a logged pyfunc model (runs:/, models:/, or a local directory).

    `runs:/` and `models:/` URIs resolve in `tracking` (default: nnflow's tracking URI).
    """
    with using_tracking_uri(tracking or tracking_uri()):
        return mlflow.pyfunc.load_model(uri)


_URI_LOCK = threading.Lock()
_uri_users: list[tuple[str, str | None, str | None]] = []  # (uri, saved env, saved global)


@contextlib.contextmanager
def using_tracking_uri(uri: str):
    """MLflow's global tracking URI set to `uri` for a block, then restored exactly.

    `mlflow.set_tracking_uri` also writes MLFLOW_TRACKING_URI into the environment (and
    MLflow's own restore helper unsets a variable the user had set), so both are saved
    and put back by hand: no later Tracker or child process inherits a stale store.
    Sweep points log models from several threads at once (to one store): the first to
    enter sets the URI and the last to leave restores it.
    """
    from mlflow.tracking._tracking_service import utils

    with _URI_LOCK:
        if not _uri_users:
            saved = (os.environ.get("MLFLOW_TRACKING_URI"), utils._tracking_uri)
            mlflow.set_tracking_uri(uri)
        else:
            saved = _uri_users[0][1:]
            if _uri_users[-1][0] != uri:
                raise RuntimeError(
                    f"tracking URI {uri} requested while {_uri_users[-1][0]} "
                    "is in use by another thread"
                )
        _uri_users.append((uri, *saved))
    try:
        yield
    finally:
        with _URI_LOCK:
            _uri_users.pop()
            if not _uri_users:
                saved_env, utils._tracking_uri = saved
                if saved_env is None:
                    os.environ.pop("MLFLOW_TRACKING_URI", None)
                else:
                    os.environ["MLFLOW_TRACKING_URI"] = saved_env


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    names = ["mlflow", "numpy", "pandas", "scipy", "pandera", "pyarrow"]
    return [f"{name}=={version(name)}" for name in names]


def _param_str(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return "None" if value is None else str(value)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Registry:
    """The model registry side of a tracking store: versions, aliases, tags."""

    def __init__(self, tracker: Tracker):
        self.client, self.uri = tracker.client, tracker.uri

    def ensure_model(self, name: str) -> None:
        try:
            self.client.get_registered_model(name)
        except mlflow.exceptions.MlflowException:
            try:
                self.client.create_registered_model(
                    name, description="nnflow networks; alias `champion` serves the best"
                )
            except mlflow.exceptions.MlflowException:
                pass  # created concurrently

    def register(
        self, name: str, run_id: str, model_uri: str, tags: Mapping[str, str] | None = None
    ) -> str:
        """A new version of `name` from a run's logged model; returns the version."""
        self.ensure_model(name)
        # A tracking server only accepts a `models:/m-...` source with its model id.
        model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else None
        with using_tracking_uri(self.uri):  # the source URI resolves in the global store
            version = self.client.create_model_version(
                name,
                source=model_uri,
                run_id=run_id,
                model_id=model_id,
                tags={k: str(v) for k, v in (tags or {}).items()},
            )
        return str(version.version)

    def version_by_alias(self, name: str, alias: str):
        try:
            return self.client.get_model_version_by_alias(name, alias)
        except mlflow.exceptions.MlflowException:
            return None

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def tag_version(self, name: str, version: str, key: str, value: str) -> None:
        self.client.set_model_version_tag(name, version, key, value)
