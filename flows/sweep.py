"""The `sweep` flow: one validation and preparation, one training task per grid point.

Points fan out on the flow's task runner: threads by default, a local Dask cluster
(`workers`) or an existing one (`dask_address`). Each point is an MLflow child run under
one parent run, created with explicit run ids (never the fluent API's per-thread active
run), so parallel points cannot leak or cross runs. A failing point ends its own child
run FAILED; the sweep goes on and promotes the best of the rest.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from pydantic import BaseModel, ConfigDict, Field, model_validator
from threadpoolctl import threadpool_limits

from flows.champion import best_run
from flows.evaluate import evaluate
from flows.params import TrainParams
from flows.pipeline import failing_run, mlflow_run_name, register_model, run_link
from flows.plots import plot_sweep
from flows.prepare import Prepared
from flows.tasks import (
    LoadedData,
    load_dataset,
    prepare_matrices,
    record_run,
    requested_params,
    train_network,
    validate_dataset,
)
from flows.tracking import Tracker
from flows.versions import run_tags

SWEPT = ("hidden", "lam", "learning_rate", "optimizer", "seed")


class SweepParams(BaseModel):
    """A grid (or a random sample of it) over the swept options; the rest is shared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: TrainParams = TrainParams()
    hidden: list[list[int]] = Field([[25]], min_length=1)
    lam: list[float] = Field([1.0], min_length=1)
    learning_rate: list[float] = Field([1.0], min_length=1)
    optimizer: list[Literal["lbfgs", "gd", "adam"]] = Field(["lbfgs"], min_length=1)
    seed: list[int] = Field([0], min_length=1)
    random: int | None = Field(None, ge=1, description="sample this many grid points")
    workers: int | None = Field(None, ge=1, description="local Dask workers")
    dask_address: str | None = Field(None, description="scheduler of an existing cluster")
    register_model: bool = Field(True, description="register the best point; champion on merit")

    @model_validator(mode="after")
    def _one_runner(self) -> SweepParams:
        if self.workers and self.dask_address:
            raise ValueError("give either workers (local cluster) or dask_address, not both")
        return self

    def points(self) -> list[TrainParams]:
        """Every grid point (or a seeded random sample of them), as full train params."""
        grid = list(
            itertools.product(self.hidden, self.lam, self.learning_rate, self.optimizer, self.seed)
        )
        if self.random is not None and self.random < len(grid):
            rng = np.random.default_rng(self.base.seed)
            grid = [grid[i] for i in sorted(rng.choice(len(grid), self.random, replace=False))]
        split_seed = self.base.effective_split_seed
        return [
            self.base.model_copy(
                update={
                    "hidden": hidden,
                    "lam": lam,
                    "learning_rate": lr,
                    "optimizer": opt,
                    # One BLAS thread per point: N parallel points use N cores, and every
                    # runner computes bit-identical results.
                    "seed": seed,
                    "split_seed": split_seed,
                    "blas_threads": 1,
                }
            )
            for hidden, lam, lr, opt, seed in grid
        ]

    def swept(self) -> list[str]:
        """The options given more than one value (the axes worth plotting)."""
        return [name for name in SWEPT if len(getattr(self, name)) > 1]


@task(cache_policy=NO_CACHE)
def train_point(
    point: TrainParams,
    data: LoadedData,
    prepared: Prepared,
    tracking_uri: str,
    experiment_id: str,
    parent_run_id: str,
    tags: dict[str, str],
) -> str:
    """Train, evaluate and log one grid point as a child run; returns its run id."""
    tracker = Tracker(tracking_uri)
    run_id = tracker.start_run(
        experiment_id, mlflow_run_name(point), tags=tags, parent_run_id=parent_run_id
    )
    tracker.log_params(run_id, requested_params(point))
    with failing_run(tracker, run_id):
        result, seconds = train_network.fn(prepared, point)
        evaluation = evaluate(result.thetas, prepared, point.lam)
        record_run(tracker, run_id, point, data, prepared, result, seconds, evaluation, tags)
        tracker.end_run(run_id)
    return run_id


def task_runner(params: SweepParams):
    """Threads by default; Dask when asked, with one BLAS thread per worker process."""
    if params.dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=params.dask_address)
    if params.workers:
        from prefect_dask import DaskTaskRunner

        # distributed's nanny already sets OMP/MKL/OPENBLAS_NUM_THREADS=1 in workers.
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": params.workers, "threads_per_worker": 1, "processes": True}
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=2)


def _sweep_run_name() -> str:
    params = SweepParams.model_validate(runtime.flow_run.parameters.get("params") or {})
    return f"sweep-{params.base.experiment_name}-{len(params.points())}pts"


@flow(name="sweep", flow_run_name=_sweep_run_name, validate_parameters=True)
def sweep_flow(params: SweepParams = SweepParams()) -> str:  # noqa: B008
    """Validate and prepare once, train every point in parallel, compare, promote."""
    logger = get_run_logger()
    base, points = params.base, params.points()
    tracker = Tracker()
    tracker.ensure_store()  # before fanning out: parallel migrations would race
    experiment_id = tracker.experiment_id(base.experiment_name)
    tags = run_tags(prefect_flow_run_id=str(runtime.flow_run.id or ""))
    parent = tracker.start_run(experiment_id, f"sweep-{len(points)}pts", tags=tags)
    with failing_run(tracker, parent):
        data = load_dataset(base.data)
        df = validate_dataset(data, base.label)
        prepared = prepare_matrices(
            df, data.digest, base.label, base.effective_split_seed, base.fractions
        )
        tracker.log_params(parent, sweep_params(params, data, len(points)))
        # The dataset row is created here, once: parallel children inserting the same
        # dataset at once collide on its primary key in a PostgreSQL-backed store.
        tracker.log_dataset(
            parent, data.frame, source=data.path, digest=data.digest, label=base.label
        )
        logger.info("sweep of %d points on %s", len(points), base.data)
        # The runner is chosen by the parameters, not the decorator, so a deployment's
        # parameters can send the same flow to threads, a local cluster or a remote one.
        # One BLAS thread per concurrent point (Dask's nanny does the same in workers).
        with threadpool_limits(1), task_runner(params) as runner:
            futures = [
                runner.submit(
                    train_point,
                    parameters={
                        "point": p,
                        "data": data,
                        "prepared": prepared,
                        "tracking_uri": tracker.uri,
                        "experiment_id": experiment_id,
                        "parent_run_id": parent,
                        "tags": tags,
                    },
                )
                for p in points
            ]
            for done, _ in enumerate(as_completed(futures), start=1):
                logger.info("sweep progress: %d/%d points done", done, len(points))
        results = sweep_results(tracker, parent, points)
        log_comparison(tracker, parent, results, params.swept())
        n_failed = int((results["status"] != "FINISHED").sum())
        best = best_run([tracker.get_run(r) for r in results["run_id"]])
        if best is None:
            raise RuntimeError(f"all {len(points)} sweep points failed")
        tracker.set_tags(parent, {"best_run_id": best.info.run_id, "n_failed": str(n_failed)})
        tracker.log_metrics(
            parent,
            {
                "best_val_accuracy": best.data.metrics["val_accuracy"],
                "n_points": len(points),
                "n_failed": n_failed,
            },
        )
        tracker.end_run(parent)
    if params.register_model:
        register_model(tracker, best.info.run_id, base, data)
    publish_sweep_summary(tracker, parent, results)
    return parent


def sweep_params(params: SweepParams, data: LoadedData, n_points: int) -> dict[str, object]:
    return {
        "data_path": data.path,
        "data_digest": data.digest,
        "n_points": n_points,
        "grid_hidden": ";".join(",".join(map(str, h)) for h in params.hidden),
        **{f"grid_{name}": ",".join(map(str, getattr(params, name))) for name in SWEPT[1:]},
        "random": params.random,
        "max_iter": params.base.max_iter,
        "tol": params.base.tol,
        "split_seed": params.base.effective_split_seed,
        "runner": (
            "dask:" + params.dask_address
            if params.dask_address
            else f"dask-local:{params.workers}"
            if params.workers
            else "threads"
        ),
    }


def sweep_results(tracker: Tracker, parent: str, points: list[TrainParams]) -> pd.DataFrame:
    """One row per child run, best validation accuracy first."""
    runs = tracker.client.search_runs(
        [tracker.get_run(parent).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent}'",
        max_results=10_000,
    )
    rows = []
    for run in runs:
        p, m = run.data.params, run.data.metrics
        rows.append(
            {
                "run_id": run.info.run_id,
                "status": run.info.status,
                "hidden": p.get("hidden_layers"),
                "lam": p.get("lam"),
                "learning_rate": p.get("learning_rate"),
                "optimizer": p.get("optimizer"),
                "seed": p.get("seed"),
                **{
                    k: m.get(k, np.nan)
                    for k in (
                        "val_accuracy",
                        "val_cost",
                        "train_accuracy",
                        "test_accuracy",
                        "train_seconds",
                        "n_iter",
                    )
                },
                "failure_reason": run.data.tags.get("failure_reason", ""),
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(
        ["val_accuracy", "val_cost"], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)


def log_comparison(tracker: Tracker, parent: str, results: pd.DataFrame, swept: list[str]) -> None:
    """sweep_results.csv and plots/sweep_val_accuracy.png on the parent run."""
    with tempfile.TemporaryDirectory(prefix="nnflow-") as tmp:
        out = Path(tmp)
        results.to_csv(out / "sweep_results.csv", index=False)
        finished = results[results["status"] == "FINISHED"]
        if len(finished):
            (out / "plots").mkdir()
            plot_sweep(finished, "val_accuracy", swept, out / "plots" / "sweep_val_accuracy.png")
        tracker.log_artifacts(parent, out)


def publish_sweep_summary(tracker: Tracker, parent: str, results: pd.DataFrame) -> None:
    """A Prefect markdown artifact: the ten best points and where the runs live."""
    columns = [
        "hidden",
        "lam",
        "learning_rate",
        "optimizer",
        "seed",
        "val_accuracy",
        "test_accuracy",
        "status",
    ]
    top = results[columns].head(10)
    header = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    rows = "".join(
        "| " + " | ".join(_cell(v) for v in row) + " |\n" for row in top.itertuples(index=False)
    )
    experiment_id = tracker.get_run(parent).info.experiment_id
    markdown = (
        f"# nnflow sweep: {len(results)} points\n\n{header}{rows}\n"
        f"Parent MLflow run `{parent}`: {run_link(tracker, experiment_id, parent)}\n"
    )
    create_markdown_artifact(
        markdown=markdown, key="sweep-summary", description=f"MLflow parent run {parent}"
    )


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
