"""User stories of `nnflow train` / `nnflow predict`, run as a user runs them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from support import all_runs, artifact_paths, new_project, nnflow, run_id_from, store

import nncore

CONTRACT_PARAMS = {
    "hidden_layers",
    "lam",
    "optimizer",
    "learning_rate",
    "max_iter",
    "tol",
    "batch_size",
    "seed",
    "data_path",
    "data_digest",
    "n_train",
    "n_val",
    "n_test",
    "n_features",
    "n_classes",
}
CONTRACT_METRICS = {
    "cost",
    "train_cost",
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_seconds",
}
CONTRACT_ARTIFACTS = {
    "thetas.npz",
    "preprocessing.json",
    "cost_history.csv",
    "plots/cost_curve.png",
    "plots/confusion_matrix.png",
}


@pytest.fixture(scope="module")
def digits_project(prefect_api, tmp_path_factory):
    """One 64-25-10 L-BFGS run on digits, shared by the assertions below."""
    project = new_project(tmp_path_factory.mktemp("digits"))
    result = nnflow(
        project,
        prefect_api,
        "train",
        "--data",
        "data/digits.csv",
        "--hidden",
        "25",
        "--lam",
        "1",
        "--max-iter",
        "60",
        "--seed",
        "3",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return project, run_id_from(result.stdout)


@pytest.fixture
def trained(digits_project):
    return digits_project[1]


def test_train_logs_every_contracted_name(trained, digits_project, tmp_path):
    project = digits_project[0]
    client = store(project)
    (run,) = all_runs(client)
    assert run.info.run_id == trained and run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "digits"
    assert CONTRACT_PARAMS <= set(run.data.params)
    assert CONTRACT_METRICS <= set(run.data.metrics)
    assert CONTRACT_ARTIFACTS <= artifact_paths(client, trained)
    params = run.data.params
    assert params["hidden_layers"] == "25" and params["n_features"] == "64"
    assert params["n_classes"] == "10"
    n = sum(int(params[k]) for k in ("n_train", "n_val", "n_test"))
    assert n == 1797
    digest = hashlib.sha256((project / "data" / "digits.csv").read_bytes()).hexdigest()
    assert params["data_digest"] == digest
    assert {"git_commit", "nnflow_version", "thetas_sha256"} <= set(run.data.tags)

    history = client.get_metric_history(trained, "cost")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(
        range(1, len(history) + 1)
    )
    assert len(history) == int(run.data.metrics["n_iter"])
    costs = np.array([m.value for m in sorted(history, key=lambda m: m.step)])
    assert costs[-1] < costs[0]

    local = client.download_artifacts(trained, "thetas.npz", str(tmp_path))
    thetas = nncore.load_thetas(local)
    assert [t.shape for t in thetas] == [(65, 25), (26, 10)]
    assert nncore.thetas_sha256(thetas) == run.data.tags["thetas_sha256"]
    prep = json.loads(
        (
            tmp_path / client.download_artifacts(trained, "preprocessing.json", str(tmp_path))
        ).read_text()
    )
    assert prep["classes"] == list(range(10))


def test_logged_model_agrees_with_logged_accuracies(trained, digits_project):
    from flows.tracking import load_model

    project = digits_project[0]
    run = store(project).get_run(trained)
    model = load_model(
        f"runs:/{trained}/model", tracking=f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"
    )
    frame = pd.read_csv(project / "data" / "digits.csv")
    predicted = np.asarray(model.predict(frame.drop(columns=["label"]).astype("float64")))
    m = run.data.metrics
    p = {k: int(run.data.params[k]) for k in ("n_train", "n_val", "n_test")}
    expected = (
        m["train_accuracy"] * p["n_train"]
        + m["val_accuracy"] * p["n_val"]
        + m["test_accuracy"] * p["n_test"]
    ) / len(frame)
    assert np.mean(predicted == frame["label"].to_numpy()) == pytest.approx(expected, abs=1e-9)
    assert model.metadata.get_input_schema().input_names()[:2] == ["pixel_0", "pixel_1"]


def test_predict_round_trip(trained, digits_project, prefect_api):
    project = digits_project[0]
    result = nnflow(
        project,
        prefect_api,
        "predict",
        "--model",
        trained,
        "--data",
        "data/digits.csv",
        "--out",
        "predictions.csv",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = pd.read_csv(project / "predictions.csv")
    assert len(out) == 1797
    assert list(out.columns) == ["prediction", *[f"p_{k}" for k in range(10)]]
    P = out[[f"p_{k}" for k in range(10)]].to_numpy()
    assert np.array_equal(out["prediction"].to_numpy(), P.argmax(axis=1))
    assert np.mean(out["prediction"] == pd.read_csv(project / "data/digits.csv")["label"]) > 0.9


def test_bad_data_exits_2_with_a_failed_run_and_no_model(run_cli, project):
    frame = pd.read_csv(project / "data" / "iris.csv")
    frame.loc[[3, 7], "petal_width"] = np.nan
    frame.to_csv(project / "broken.csv", index=False)
    result = run_cli("train", "--data", "broken.csv", "--max-iter", "5")
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "broken.csv" in last and "petal_width" in last
    assert "Traceback" not in result.stderr
    client = store(project)
    (run,) = all_runs(client)
    assert run.info.status == "FAILED"
    assert "petal_width" in run.data.tags["failure_reason"]
    assert {"validation/validation_report.csv", "validation/validation_report.md"} <= (
        artifact_paths(client, run.info.run_id)
    )
    assert "thetas.npz" not in artifact_paths(client, run.info.run_id)
    assert not client.search_logged_models([run.info.experiment_id])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "--data", "nope.csv"], "nope.csv"),
        (["train", "--hidden", "2x5"], "--hidden"),
        (["train", "--lam", "-1"], "--lam"),
        (["train", "--optimizer", "sgd"], "--optimizer"),
    ],
)
def test_bad_usage_exits_2_in_one_line(run_cli, args, expected):
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert expected in result.stderr.strip().splitlines()[-1]


def test_tracking_uri_override(run_cli, project):
    other = project / "elsewhere.db"
    result = run_cli(
        "train",
        "--data",
        "data/iris.csv",
        "--max-iter",
        "20",
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{other}"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_id = run_id_from(result.stdout)
    assert MlflowClient(f"sqlite:///{other}").get_run(run_id).info.status == "FINISHED"
    assert not (project / "mlruns" / "mlflow.db").exists()


def test_help_does_not_import_prefect_or_mlflow():
    code = (
        "import sys; from flows.cli import app; "
        "print(sorted(m for m in ('prefect', 'mlflow', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_unreachable_prefect_api_gives_a_hint(run_cli):
    result = run_cli(
        "train", "--data", "data/iris.csv", env={"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "unreachable" in last and "prefect server start" in last
