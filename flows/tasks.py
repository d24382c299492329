"""Prefect tasks: each one call into nncore / the data layer, or one I/O step.

Validation and preparation are cached by the data file's sha256 plus the parameters
that shape their output, with results persisted under the project's `.prefect/`, so a
rerun with new hyperparameters neither re-validates nor re-splits.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from threadpoolctl import threadpool_info, threadpool_limits

import nncore
from flows.data import file_digest, load_table
from flows.environment import LOCK_NAME, environment_tags, requirements_lock
from flows.errors import DataError
from flows.evaluate import Evaluation, evaluate
from flows.params import TrainParams
from flows.plots import plot_confusion_matrix, plot_cost_curve
from flows.prepare import Prepared, decode_labels, transform_features
from flows.prepare import prepare_matrices as _prepare
from flows.schema import validate_table
from flows.tracking import Tracker

# Bump when validation or preparation changes what they return: it keys their caches.
PREPARATION_VERSION = "1"


@dataclass(frozen=True)
class LoadedData:
    path: str
    digest: str  # sha256 of the file bytes
    frame: pd.DataFrame


def _retry_io_only(task, task_run, state) -> bool:
    """Retry transient I/O errors, never a bad file (it will not get better)."""
    try:
        state.result()
    except DataError:
        return False
    except OSError:
        return True
    return False


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=_retry_io_only, cache_policy=NO_CACHE)
def load_dataset(path: str) -> LoadedData:
    """Read the CSV/Parquet file and fingerprint its bytes."""
    return LoadedData(path=path, digest=file_digest(path), frame=load_table(path))


def _validation_key(context, parameters) -> str:
    data = parameters["data"]
    return f"validate-{PREPARATION_VERSION}-{data.digest}-{parameters['label']}"


@task(cache_key_fn=_validation_key, persist_result=True)
def validate_dataset(data: LoadedData, label: str) -> pd.DataFrame:
    """Check the pandera contract, collecting every failure (lazy validation)."""
    return validate_table(data.frame, label=label, source=data.path)


def _preparation_key(context, parameters) -> str:
    fractions = ",".join(f"{f:.12g}" for f in parameters["fractions"])
    return (
        f"prepare-{PREPARATION_VERSION}-{parameters['digest']}-{parameters['label']}"
        f"-{parameters['seed']}-{fractions}"
    )


@task(cache_key_fn=_preparation_key, persist_result=True)
def prepare_matrices(
    df: pd.DataFrame, digest: str, label: str, seed: int, fractions: tuple[float, float, float]
) -> Prepared:
    """Seeded stratified split, train-only scaling, one-hot Y, bias column."""
    return _prepare(df, label=label, seed=seed, fractions=fractions)


@task(cache_policy=NO_CACHE)
def train_network(prepared: Prepared, params: TrainParams) -> tuple[nncore.TrainResult, float]:
    """Initialise from the seed and train; returns the result and its wall time."""
    logger = get_run_logger()
    n, K = prepared.Xb_train.shape[1] - 1, prepared.Y_train.shape[1]
    layers = [n, *params.hidden, K]
    thetas = nncore.init_thetas(layers, np.random.default_rng(params.seed))
    config = params.train_config()
    logger.info(
        "training %s with %s on %d rows",
        "-".join(map(str, layers)),
        params.optimizer,
        prepared.Xb_train.shape[0],
    )
    with (
        threadpool_limits(params.blas_threads),
        _Progress(logger, params.max_iter) as progress,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", nncore.ConvergenceWarning)
        start = time.perf_counter()
        result = nncore.train(
            thetas, prepared.Xb_train, prepared.Y_train, config, callback=progress.update
        )
        seconds = time.perf_counter() - start
    for warning in caught:
        logger.warning("%s", warning.message)
    logger.info(
        "trained in %.2f s: %d iterations, final cost %.6f, converged=%s",
        seconds,
        result.n_iter,
        result.cost_history[-1],
        result.converged,
    )
    return result, seconds


@task(cache_policy=NO_CACHE)
def evaluate_network(thetas: list[np.ndarray], prepared: Prepared, lam: float) -> Evaluation:
    """Cost and accuracy on train/val/test, confusion matrix on test."""
    return evaluate(thetas, prepared, lam)


def record_run(
    tracker: Tracker,
    run_id: str,
    params: TrainParams,
    data: LoadedData,
    prepared: Prepared,
    result: nncore.TrainResult,
    seconds: float,
    evaluation: Evaluation,
    tags: dict[str, str],
) -> None:
    """Log params, the cost history, metrics, artifacts, the dataset and the model.

    Called as is by the sweep's point tasks; the train flow runs it as the task `log_run`.
    """
    tracker.log_params(run_id, run_params(params, data, prepared))
    tracker.log_metric_history(run_id, "cost", result.cost_history)
    tracker.log_metrics(
        run_id, {**evaluation.metrics, "train_seconds": seconds, "n_iter": result.n_iter}
    )
    with tempfile.TemporaryDirectory(prefix="nnflow-") as tmp:
        out = Path(tmp)
        thetas_path, prep_path = write_run_files(out, params, prepared, result, evaluation)
        if (lock := requirements_lock()) is not None:  # so a replay can say what differs
            shutil.copyfile(lock, out / LOCK_NAME)
        tracker.log_artifacts(run_id, out)
        raw = data.frame.drop(columns=[params.label])
        example = raw.head(5).astype("float64")
        model_info = tracker.log_model(
            run_id,
            thetas_path=thetas_path,
            preprocessing_path=prep_path,
            input_example=example,
            predictions=pd.Series(_decode(result.thetas, example, prepared.preprocessing)),
        )
    tracker.log_dataset(
        run_id, data.frame, source=data.path, digest=data.digest, label=params.label
    )
    tracker.set_tags(
        run_id,
        {
            **tags,
            **environment_tags(),
            "thetas_sha256": nncore.thetas_sha256(result.thetas),
            "converged": str(result.converged).lower(),
            "model_uri": model_info.model_uri,
        },
    )


# Retried: it is all I/O against the tracking store.
log_run = task(record_run, name="log_run", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)


def write_run_files(
    out: Path,
    params: TrainParams,
    prepared: Prepared,
    result: nncore.TrainResult,
    evaluation: Evaluation,
) -> tuple[Path, Path]:
    """thetas.npz, preprocessing.json, cost_history.csv and plots/ into `out`."""
    thetas_path = out / "thetas.npz"
    nncore.save_thetas(thetas_path, result.thetas)
    prep_path = out / "preprocessing.json"
    prep_path.write_text(json.dumps(prepared.preprocessing, indent=2), encoding="utf-8")
    pd.DataFrame(
        {"iteration": np.arange(1, len(result.cost_history) + 1), "cost": result.cost_history}
    ).to_csv(out / "cost_history.csv", index=False)
    (out / "plots").mkdir()
    plot_cost_curve(
        result.cost_history,
        out / "plots" / "cost_curve.png",
        title=f"{params.hidden_layers} {params.optimizer} lam={params.lam}",
    )
    plot_confusion_matrix(
        evaluation.confusion,
        prepared.preprocessing["classes"],
        out / "plots" / "confusion_matrix.png",
    )
    return thetas_path, prep_path


def requested_params(params: TrainParams) -> dict[str, object]:
    """What the user asked for: logged when the run opens, so a failed run shows it too."""
    return {
        "hidden_layers": params.hidden_layers,
        "lam": params.lam,
        "optimizer": params.optimizer,
        "learning_rate": params.learning_rate,
        "max_iter": params.max_iter,
        "tol": params.tol,
        "batch_size": params.batch_size,
        "seed": params.seed,
        "split_seed": params.effective_split_seed,
        "blas_threads": params.blas_threads or blas_threads(),
        "data_path": params.data,
        "label": params.label,
        "val_fraction": params.val_fraction,
        "test_fraction": params.test_fraction,
    }


def run_params(params: TrainParams, data: LoadedData, prepared: Prepared) -> dict[str, object]:
    """The contracted params (DESIGN.md), plus what a replay needs to rebuild the run."""
    return {
        **requested_params(params),
        "data_path": data.path,
        "data_digest": data.digest,
        "n_train": prepared.Xb_train.shape[0],
        "n_val": prepared.Xb_val.shape[0],
        "n_test": prepared.Xb_test.shape[0],
        "n_features": prepared.Xb_train.shape[1] - 1,
        "n_classes": len(prepared.preprocessing["classes"]),
    }


def blas_threads() -> int:
    """The BLAS thread count in force now (recorded so a replay can set the same)."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts, default=1)


def _decode(thetas, frame: pd.DataFrame, preprocessing: dict) -> np.ndarray:
    return decode_labels(
        nncore.predict(thetas, transform_features(frame, preprocessing)), preprocessing
    )


class _Progress:
    """Cost in the log every ~10% of max_iter; a live bar too when stderr is a terminal."""

    def __init__(self, logger, total: int):
        self.logger, self.total = logger, total
        self.every = max(1, total // 10)
        self.bar = None

    def __enter__(self):
        if sys.stderr.isatty():
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.bar_task = self.bar.add_task("training", total=self.total)
        return self

    def update(self, iteration: int, cost: float) -> None:
        if iteration % self.every == 0:
            self.logger.info("iteration %d/%d: cost %.6f", iteration, self.total, cost)
        if self.bar is not None:
            self.bar.update(self.bar_task, completed=iteration, description=f"cost {cost:.5f}")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
