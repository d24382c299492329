"""The `train` flow: validate -> prepare -> train -> evaluate -> log, one MLflow run.

The MLflow run opens before any work, so a run that fails (bad data included) is still
recorded: it ends FAILED with the reason as the `failure_reason` tag and, for a schema
violation, the validation report as an artifact. Only a FINISHED run is ever registered.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.champion import promote, rescorer
from flows.errors import DataValidationError
from flows.params import TrainParams
from flows.schema import write_report
from flows.tasks import (
    LoadedData,
    evaluate_network,
    load_dataset,
    log_run,
    prepare_matrices,
    requested_params,
    train_network,
    validate_dataset,
)
from flows.tracking import Tracker
from flows.versions import run_tags


def _train_run_name() -> str:
    params = TrainParams.model_validate(runtime.flow_run.parameters.get("params") or {})
    return f"train-{params.experiment_name}-{params.hidden_layers}-{params.optimizer}"


def mlflow_run_name(params: TrainParams) -> str:
    return f"{params.hidden_layers}-{params.optimizer}-lam{params.lam:g}-seed{params.seed}"


@flow(name="train", flow_run_name=_train_run_name, validate_parameters=True)
def train_flow(
    params: TrainParams = TrainParams(),  # noqa: B008
    extra_tags: dict[str, str] | None = None,
) -> str:
    """Train one network on one data set and log it to MLflow; returns the run id.

    `extra_tags` go on the MLflow run from its start (a replay's `reproduces`), so they
    are there even if the run fails.
    """
    tracker = Tracker()
    tracker.ensure_store()
    experiment_id = tracker.experiment_id(params.experiment_name)
    tags = run_tags(prefect_flow_run_id=str(runtime.flow_run.id or ""), **(extra_tags or {}))
    run_id = tracker.start_run(experiment_id, mlflow_run_name(params), tags=tags)
    tracker.log_params(run_id, requested_params(params))
    get_run_logger().info("MLflow run %s in experiment %r", run_id, params.experiment_name)
    with failing_run(tracker, run_id):
        data = load_dataset(params.data)
        df = validate_dataset(data, params.label)
        prepared = prepare_matrices(
            df, data.digest, params.label, params.effective_split_seed, params.fractions
        )
        result, seconds = train_network(prepared, params)
        evaluation = evaluate_network(result.thetas, prepared, params.lam)
        log_run(tracker, run_id, params, data, prepared, result, seconds, evaluation, tags)
        tracker.end_run(run_id)
    if params.register_model:
        register_model(tracker, run_id, params, data)
    publish_summary(tracker, run_id, params, evaluation.metrics)
    return run_id


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def register_model(
    tracker: Tracker, run_id: str, params: TrainParams, data: LoadedData
) -> dict[str, str]:
    """Register the finished run's model; it takes `champion` only if it is better."""
    rescore = rescorer(
        data.frame,
        label=params.label,
        split_seed=params.effective_split_seed,
        fractions=params.fractions,
        tracking=tracker.uri,
    )
    outcome = promote(tracker, run_id, params.experiment_name, rescore=rescore)
    get_run_logger().info(
        "registered %s v%s as %s: %s",
        outcome["model"],
        outcome["version"],
        outcome["alias"],
        outcome["reason"],
    )
    return outcome


class failing_run:  # noqa: N801 - used as a context manager, reads like one
    """On any exception: end the MLflow run FAILED with the reason, then re-raise."""

    def __init__(self, tracker: Tracker, run_id: str):
        self.tracker, self.run_id = tracker, run_id

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            return False
        message = " ".join(str(exc).split())  # one line, whatever the exception holds
        reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        try:
            if isinstance(exc, DataValidationError):
                with tempfile.TemporaryDirectory(prefix="nnflow-") as tmp:
                    write_report(exc.report, Path(tmp))
                    self.tracker.log_artifacts(self.run_id, Path(tmp), "validation")
            self.tracker.end_run(self.run_id, failed_reason=reason)
        except Exception as tracking_error:  # the original error matters more
            get_run_logger().error("could not mark run %s FAILED: %s", self.run_id, tracking_error)
        return False


def publish_summary(
    tracker: Tracker, run_id: str, params: TrainParams, metrics: dict[str, float]
) -> None:
    """A Prefect markdown artifact: the metrics table and where the MLflow run lives."""
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items()))
    run = tracker.get_run(run_id)
    markdown = (
        f"# nnflow train: {params.experiment_name}\n\n"
        f"Network {params.hidden_layers} hidden, {params.optimizer}, lam={params.lam:g}, "
        f"seed={params.seed}\n\n| metric | value |\n|---|---|\n{rows}\n\n"
        f"MLflow run `{run_id}` (experiment `{run.info.experiment_id}`) in "
        f"`{tracker.uri}`: {run_link(tracker, run.info.experiment_id, run_id)}\n"
    )
    create_markdown_artifact(
        markdown=markdown, key="train-summary", description=f"MLflow run {run_id}"
    )


def run_link(tracker: Tracker, experiment_id: str, run_id: str) -> str:
    """A link to the run in the MLflow UI (`nnflow ui` for the embedded store)."""
    base = tracker.uri if tracker.uri.startswith("http") else "http://127.0.0.1:5000"
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
