"""`nnflow reproduce RUN_ID`: a logged run replays to the identical thetas, or is refused.

One run per optimizer is trained in-process once for the module (the CLI of `train` has
its own tests); the replays that matter as a user runs them go through the CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from support import DATA, all_runs, new_project, nnflow, store

from flows.environment import environment_differences, environment_tags
from flows.errors import ReproductionError
from flows.params import TrainParams

OPTIMIZERS = {
    "gd": {"optimizer": "gd", "learning_rate": 2.0, "max_iter": 40},
    "lbfgs": {"optimizer": "lbfgs", "max_iter": 25},
    "adam": {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 16, "max_iter": 8},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A working directory of its own (own embedded MLflow store) for the whole module."""
    root = new_project(tmp_path_factory.mktemp("reproduce"))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield root


@pytest.fixture(scope="module")
def originals(prefect_api, project) -> dict[str, str]:
    """One small iris run per optimizer, trained in-process: {optimizer: run id}."""
    from flows.pipeline import train_flow

    return {
        name: train_flow(TrainParams(data="data/iris.csv", hidden=[5], seed=7, **options))
        for name, options in OPTIMIZERS.items()
    }


@pytest.fixture(scope="module")
def client(project) -> MlflowClient:
    return store(project)


def assert_exact_replay(client: MlflowClient, original: str, replay: str) -> None:
    old, new = client.get_run(original), client.get_run(replay)
    assert new.info.status == "FINISHED"
    assert new.info.experiment_id == old.info.experiment_id
    assert new.data.tags["reproduces"] == original
    assert new.data.tags["reproduced"] == "exact"
    assert new.data.tags["thetas_sha256"] == old.data.tags["thetas_sha256"]
    assert new.data.metrics["max_abs_theta_diff"] == 0.0
    assert new.data.params == old.data.params  # same seeds, split, BLAS threads, data digest


def test_cli_replays_a_gd_run_exactly(prefect_api, project, originals, client):
    result = nnflow(project, prefect_api, "reproduce", originals["gd"])
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("MLflow run ") and f"reproduces run {originals['gd']} exactly" in last
    assert "environment differs" not in result.stderr
    assert_exact_replay(client, originals["gd"], last.split()[2])


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_replay_is_bit_identical(optimizer, prefect_api, project, originals, client):
    from flows.reproduce import plan_replay, replay

    plan = plan_replay(originals[optimizer])
    assert plan.params.optimizer == optimizer and plan.params.experiment == "iris"
    assert plan.environment_differences == []
    outcome = replay(plan)
    assert outcome.exact
    assert_exact_replay(client, originals[optimizer], outcome.replay_run_id)


def test_runs_record_their_environment(originals, client, tmp_path):
    run = client.get_run(originals["lbfgs"])
    assert environment_tags().items() <= run.data.tags.items()
    lock = Path(client.download_artifacts(run.info.run_id, "requirements.lock", str(tmp_path)))
    assert lock.read_bytes() == (DATA.parent / "requirements.lock").read_bytes()
    assert int(run.data.params["blas_threads"]) >= 1
    assert run.data.params["split_seed"] == "7"


def test_environment_differences_name_what_changed():
    now = environment_tags()
    recorded = {**now, "numpy_version": "1.0.0"}
    lock = "numpy==1.0.0\n    # via nnflow\nnot-a-package-here==0.1\n"
    assert environment_differences(recorded, lock) == [
        f"numpy_version 1.0.0 -> {now['numpy_version']}",
        "not-a-package-here 0.1 -> not installed",
        f"numpy 1.0.0 -> {now['numpy_version']}",
    ]
    assert environment_differences({}, None) == []  # runs from before the capture


def test_changed_data_is_refused_in_one_line(prefect_api, project, originals, client, tmp_path):
    """Same store, same recorded path, other bytes: exit 2 naming both digests."""
    runs_before = len(all_runs(client))
    (tmp_path / "data").mkdir()
    text = (project / "data" / "iris.csv").read_text()
    (tmp_path / "data" / "iris.csv").write_text(text.replace("5.1,3.5", "5.2,3.5", 1))
    uri = f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"
    result = nnflow(
        tmp_path, prefect_api, "reproduce", originals["lbfgs"], env={"MLFLOW_TRACKING_URI": uri}
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    from flows.data import file_digest

    recorded = file_digest(project / "data" / "iris.csv")
    now = file_digest(tmp_path / "data" / "iris.csv")
    assert recorded != now and recorded in last and now in last and "data/iris.csv" in last
    assert len(all_runs(client)) == runs_before  # refused before any run was started


def test_missing_data_or_run_is_refused(originals, project, monkeypatch, tmp_path):
    from flows.reproduce import plan_replay
    from flows.tracking import Tracker

    tracker = Tracker(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)  # no data/ here
    with pytest.raises(ReproductionError, match=r"data/iris.csv: missing"):
        plan_replay(originals["adam"], tracker)
    with pytest.raises(ReproductionError, match="no MLflow run"):
        plan_replay("0" * 32, tracker)


def test_different_thetas_are_tagged_differs(originals, project, client):
    """Two runs that really differ (other optimizers): tagged, with the largest |Δθ|."""
    from flows.reproduce import compare_runs
    from flows.tracking import Tracker

    tracker = Tracker(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    outcome = compare_runs(originals["gd"], originals["adam"], tracker)
    assert not outcome.exact and outcome.max_abs_theta_diff > 0
    run = client.get_run(originals["adam"])
    assert run.data.tags["reproduced"] == "differs"
    assert run.data.tags["reproduces"] == originals["gd"]
    metric = run.data.metrics["max_abs_theta_diff"]
    assert metric == pytest.approx(outcome.max_abs_theta_diff)
