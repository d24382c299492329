"""`nnflow train` and `nnflow sweep` against the served stack, configured by env only:
the runs land in the PostgreSQL-backed MLflow server (artifacts served by it), the flow
runs are COMPLETED in the PostgreSQL-backed Prefect server."""

from __future__ import annotations

import itertools

import numpy as np
import psycopg2
import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.stack

PARENT_TAG = "mlflow.parentRunId"


def mlflow_client(stack) -> MlflowClient:
    return MlflowClient(tracking_uri=stack.mlflow_uri)


def experiment_runs(client: MlflowClient, name: str):
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None, f"no experiment {name!r} on the MLflow server"
    return client.search_runs([experiment.experiment_id])


def flow_run_states(stack, flow_name: str) -> list[str]:
    """State types of every run of flow `flow_name` on the stack's Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: stack.prefect_api_url}):
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name]))
            )
    return [run.state_type.value for run in runs]


def tasks_per_worker(stack) -> dict[str, int]:
    """How many tasks each Dask worker of the stack has executed."""
    from distributed import Client

    with Client(stack.dask_address, timeout=30) as client:
        return client.run(lambda dask_worker: dask_worker.state.executed_count)


def runs_in_postgres(stack, run_ids: list[str]) -> dict[str, str]:
    """run id -> status, read from MLflow's own `runs` table, bypassing the server."""
    with psycopg2.connect(stack.mlflow_db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_uuid, status FROM runs WHERE run_uuid = ANY(%s)", (run_ids,))
        rows = dict(cur.fetchall())
    conn.close()
    return rows


def assert_trained_run(client: MlflowClient, run, stack, tmp_path) -> None:
    """A FINISHED run with the contract's params and metrics, and thetas.npz that the
    server serves (mlflow-artifacts:/, stored under the stack's artifacts destination)."""
    run_id = run.info.run_id
    reason = run.data.tags.get("failure_reason")
    assert run.info.status == "FINISHED", f"run {run_id} {run.info.status}: {reason}"
    assert {"hidden_layers", "lam", "max_iter", "data_digest"} <= run.data.params.keys()
    assert 0.0 <= run.data.metrics["val_accuracy"] <= 1.0
    history = client.get_metric_history(run_id, "cost")
    assert len(history) >= 2 and all(np.isfinite(m.value) for m in history)

    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri
    local = client.download_artifacts(run_id, "thetas.npz", str(tmp_path))
    with np.load(local, allow_pickle=False) as thetas:
        assert "theta_1" in thetas.files and thetas["theta_1"].ndim == 2
    stored = list((stack.state / "artifacts").rglob(f"{run_id}/**/thetas.npz"))
    assert stored, f"thetas.npz of {run_id} is not under the served artifacts destination"


def test_train_against_served_stack(stack, run_nnflow, tmp_path):
    result = run_nnflow(
        "train", "--data", "data/iris.csv", "--max-iter", "30", "--experiment", "stack-iris-train"
    )
    assert result.returncode == 0, result.stderr[-4000:]

    client = mlflow_client(stack)
    (run,) = experiment_runs(client, "stack-iris-train")
    assert result.stdout.strip().splitlines()[-1].startswith(f"MLflow run {run.info.run_id}")
    assert_trained_run(client, run, stack, tmp_path)

    assert runs_in_postgres(stack, [run.info.run_id]) == {run.info.run_id: "FINISHED"}
    states = flow_run_states(stack, "train")
    assert "COMPLETED" in states and "FAILED" not in states, states


def test_sweep_on_dask_against_served_stack(stack, run_nnflow, tmp_path):
    result = run_nnflow(
        "sweep",
        "--data",
        "data/iris.csv",
        "--hidden",
        "5",
        "--hidden",
        "8",
        "--lam",
        "0,1",
        "--max-iter",
        "50",
        "--dask-address",
        stack.dask_address,
        "--experiment",
        "stack-iris",
    )
    assert result.returncode == 0, result.stderr[-4000:]

    client = mlflow_client(stack)
    runs = experiment_runs(client, "stack-iris")
    parents = [r for r in runs if PARENT_TAG not in r.data.tags]
    assert len(parents) == 1, [r.info.run_id for r in parents]
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get(PARENT_TAG) == parent.info.run_id]
    assert len(children) == 4, len(children)
    grid = {(r.data.params["hidden_layers"], float(r.data.params["lam"])) for r in children}
    assert grid == set(itertools.product(["5", "8"], [0.0, 1.0]))
    for i, child in enumerate(children):
        assert_trained_run(client, child, stack, tmp_path / str(i))

    run_ids = [r.info.run_id for r in [parent, *children]]
    in_db = runs_in_postgres(stack, run_ids)
    assert set(in_db) == set(run_ids)
    assert all(in_db[r.info.run_id] == "FINISHED" for r in children), in_db
    executed = tasks_per_worker(stack)
    assert len(executed) == 2 and sum(executed.values()) >= 4, executed
    states = flow_run_states(stack, "sweep")
    assert states and set(states) == {"COMPLETED"}, states
