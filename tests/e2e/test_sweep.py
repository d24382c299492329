"""User stories of `nnflow sweep`: fan-out on Dask, child runs, champion promotion."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from support import all_runs, artifact_paths, new_project, nnflow, run_id_from, store

from flows.params import TrainParams
from flows.sweep import SweepParams, sweep_flow


def children_of(client: MlflowClient, parent: str):
    return [r for r in all_runs(client) if r.data.tags.get("mlflow.parentRunId") == parent]


@pytest.fixture(scope="module")
def dask_project(prefect_api, tmp_path_factory):
    """A 2x2 grid on iris over a real local Dask cluster of two worker processes."""
    project = new_project(tmp_path_factory.mktemp("sweep"))
    result = nnflow(
        project,
        prefect_api,
        "sweep",
        "--data",
        "data/iris.csv",
        "--hidden",
        "5",
        "--hidden",
        "8,4",
        "--lam",
        "0,1",
        "--max-iter",
        "40",
        "--workers",
        "2",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return project, run_id_from(result.stdout)


@pytest.fixture
def dask_sweep(dask_project):
    return dask_project[1]


def test_dask_sweep_logs_a_parent_and_four_finished_children(dask_sweep, dask_project):
    project = dask_project[0]
    client = store(project)
    runs = client.search_runs([client.get_experiment_by_name("iris").experiment_id])
    assert len(runs) == 5
    assert not [r for r in runs if r.info.status not in ("FINISHED",)]
    parent = client.get_run(dask_sweep)
    assert "mlflow.parentRunId" not in parent.data.tags
    children = children_of(client, dask_sweep)
    assert len(children) == 4
    assert {(c.data.params["hidden_layers"], c.data.params["lam"]) for c in children} == {
        ("5", "0.0"),
        ("5", "1.0"),
        ("8,4", "0.0"),
        ("8,4", "1.0"),
    }
    for child in children:
        assert {"thetas.npz", "plots/cost_curve.png"} <= artifact_paths(client, child.info.run_id)
        assert child.data.params["blas_threads"] == "1"
    assert {"sweep_results.csv", "plots/sweep_val_accuracy.png"} <= artifact_paths(
        client, dask_sweep
    )
    best = parent.data.tags["best_run_id"]
    champion = client.get_model_version_by_alias("nnflow-iris", "champion")
    assert champion.run_id == best


def test_thread_and_dask_runners_give_identical_results(dask_project, prefect_api, monkeypatch):
    """The same grid on the thread runner reproduces every Dask point bit for bit."""
    project, dask_sweep = dask_project
    monkeypatch.chdir(project)
    base = TrainParams(data="data/iris.csv", max_iter=40, experiment="iris-threads")
    parent = sweep_flow(
        SweepParams(base=base, hidden=[[5], [8, 4]], lam=[0.0, 1.0], register_model=False)
    )
    client = store(project)

    def fingerprints(parent_id):
        return {
            (c.data.params["hidden_layers"], c.data.params["lam"]): (
                c.data.tags["thetas_sha256"],
                c.data.metrics["val_accuracy"],
            )
            for c in children_of(client, parent_id)
        }

    assert fingerprints(parent) == fingerprints(dask_sweep)


def test_a_failing_point_is_recorded_and_the_rest_promoted(run_cli, project):
    result = run_cli(
        "sweep",
        "--data",
        "data/iris.csv",
        "--hidden",
        "4",
        "--optimizer",
        "gd",
        "--learning-rate",
        "0.5,1e200",
        "--max-iter",
        "30",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    parent = run_id_from(result.stdout)
    client = store(project)
    children = {c.data.params.get("learning_rate"): c for c in children_of(client, parent)}
    assert set(children) == {"0.5", "1e+200"}, {k: c.info.status for k, c in children.items()}
    assert children["1e+200"].info.status == "FAILED"
    assert "diverged" in children["1e+200"].data.tags["failure_reason"].lower()
    assert children["0.5"].info.status == "FINISHED"
    assert client.get_run(parent).info.status == "FINISHED"
    champion = client.get_model_version_by_alias("nnflow-iris", "champion")
    assert champion.run_id == children["0.5"].info.run_id
    assert not [r for r in all_runs(client) if r.info.status == "RUNNING"]


def test_predict_with_the_champion_alias(dask_project, prefect_api):
    project, _ = dask_project
    result = nnflow(
        project,
        prefect_api,
        "predict",
        "--model",
        "champion",
        "--data",
        "data/iris.csv",
        "--out",
        "champion.csv",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = pd.read_csv(project / "champion.csv")
    assert len(out) == 150
    assert set(out["prediction"]) <= {"setosa", "versicolor", "virginica"}
    assert list(out.columns) == ["prediction", "p_setosa", "p_versicolor", "p_virginica"]
