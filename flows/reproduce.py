"""Replay a logged run and prove the new thetas identical (`nnflow reproduce RUN_ID`).

Everything that shapes the thetas is a param of the run: the data file and its sha256,
the split seed and fractions, the init/shuffle seed, the optimizer settings and the BLAS
thread count (summation order in a threaded BLAS depends on it). A replay rebuilds
`TrainParams` from those params alone, refuses when the data file's bytes changed, runs
the same train flow into a new run tagged `reproduces=<run id>`, and compares the two
`thetas_sha256` tags. The environment (Python, NumPy, SciPy, BLAS, the lock file) is not
a param: when it differs the replay still runs, and the caller is told what differs.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nncore
from flows.data import file_digest
from flows.environment import LOCK_NAME, environment_differences
from flows.errors import DataError, ReproductionError
from flows.params import TrainParams
from flows.tracking import Tracker


@dataclass(frozen=True)
class Replay:
    """What a replay will run: the original run, its params, and how this machine differs."""

    run_id: str
    thetas_sha256: str
    params: TrainParams
    environment_differences: list[str]


@dataclass(frozen=True)
class Outcome:
    """The comparison of a replayed run with its original."""

    original_run_id: str
    replay_run_id: str
    original_sha256: str
    replay_sha256: str
    max_abs_theta_diff: float

    @property
    def exact(self) -> bool:
        return self.original_sha256 == self.replay_sha256


def plan_replay(run_id: str, tracker: Tracker | None = None) -> Replay:
    """Read the run, check its data file is byte-identical, rebuild its params.

    Raises `ReproductionError` (exit 2) when the run is unknown, did not finish, or its
    data file is missing or changed (the message names both digests).
    """
    tracker = tracker or Tracker()
    run = tracker.find_run(run_id)
    if run is None:
        raise ReproductionError(f"no MLflow run {run_id} in {tracker.uri}")
    if run.info.status != "FINISHED" or "thetas_sha256" not in run.data.tags:
        raise ReproductionError(
            f"run {run_id} is {run.info.status} without thetas: only finished runs replay"
        )
    recorded = run.data.params
    check_data(run_id, recorded["data_path"], recorded["data_digest"])
    params = params_from_run(recorded, tracker.experiment_name(run.info.experiment_id))
    differences = environment_differences(run.data.tags, tracker.artifact_text(run_id, LOCK_NAME))
    return Replay(run_id, run.data.tags["thetas_sha256"], params, differences)


def check_data(run_id: str, path: str, recorded_digest: str) -> None:
    """Refuse to replay on other bytes than the run was trained on."""
    if not Path(path).is_file():
        raise ReproductionError(
            f"{path}: missing; run {run_id} was trained on sha256 {recorded_digest}, "
            "found none; refusing to replay"
        )
    try:
        current = file_digest(path)
    except DataError as error:
        raise ReproductionError(
            f"{error}; run {run_id} was trained on sha256 {recorded_digest}; refusing to replay"
        ) from None
    if current != recorded_digest:
        raise ReproductionError(
            f"{path}: data changed since run {run_id}: sha256 {current} now, "
            f"{recorded_digest} recorded; refusing to replay"
        )


def params_from_run(recorded: Mapping[str, str], experiment: str) -> TrainParams:
    """TrainParams from a run's logged params (strings, as MLflow stores them)."""

    def optional_int(key: str) -> int | None:
        value = recorded.get(key, "None")
        return None if value == "None" else int(value)

    return TrainParams(
        data=recorded["data_path"],
        label=recorded["label"],
        hidden=[int(size) for size in recorded["hidden_layers"].split(",")],
        lam=float(recorded["lam"]),
        optimizer=recorded["optimizer"],
        learning_rate=float(recorded["learning_rate"]),
        max_iter=int(recorded["max_iter"]),
        tol=float(recorded["tol"]),
        batch_size=optional_int("batch_size"),
        seed=int(recorded["seed"]),
        split_seed=optional_int("split_seed"),
        blas_threads=optional_int("blas_threads"),
        val_fraction=float(recorded["val_fraction"]),
        test_fraction=float(recorded["test_fraction"]),
        experiment=experiment,
    )


def replay(plan: Replay, tracker: Tracker | None = None) -> Outcome:
    """Run the train flow with the plan's params; tag and compare the new run."""
    from flows.pipeline import train_flow  # Prefect loads only when a replay really runs

    tracker = tracker or Tracker()
    new_run_id = train_flow(plan.params, extra_tags={"reproduces": plan.run_id})
    return compare_runs(plan.run_id, new_run_id, tracker)


def compare_runs(original_run_id: str, replay_run_id: str, tracker: Tracker) -> Outcome:
    """Tag `replay_run_id` with what it reproduces and how well; log the largest |Δθ|."""
    original = tracker.get_run(original_run_id).data.tags["thetas_sha256"]
    replayed = tracker.get_run(replay_run_id).data.tags["thetas_sha256"]
    diff = (
        0.0 if original == replayed else max_abs_theta_diff(tracker, original_run_id, replay_run_id)
    )
    outcome = Outcome(original_run_id, replay_run_id, original, replayed, diff)
    tracker.set_tags(
        replay_run_id,
        {
            "reproduces": original_run_id,
            "reproduced": "exact" if outcome.exact else "differs",
        },
    )
    tracker.log_metrics(replay_run_id, {"max_abs_theta_diff": diff})
    return outcome


def max_abs_theta_diff(tracker: Tracker, run_a: str, run_b: str) -> float:
    """Largest absolute difference over all layers; inf when the shapes differ."""
    with tempfile.TemporaryDirectory(prefix="nnflow-") as tmp:
        a, b = (load_run_thetas(tracker, run_id, Path(tmp, run_id)) for run_id in (run_a, run_b))
    if [t.shape for t in a] != [t.shape for t in b]:
        return math.inf
    return float(max(np.max(np.abs(x - y)) for x, y in zip(a, b, strict=True)))


def load_run_thetas(tracker: Tracker, run_id: str, directory: Path) -> list[np.ndarray]:
    directory.mkdir(parents=True)
    return nncore.load_thetas(tracker.download_artifact(run_id, "thetas.npz", directory))
