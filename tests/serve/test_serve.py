"""`nnflow serve --sweep` against a real Prefect server: its deployments, and a run of one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

BIN = Path(sys.executable).parent

SERVE_ARGS = [
    "--cron",
    "30 2 * * 1-5",
    "--timezone",
    "Europe/Berlin",
    "--data",
    "data/iris.csv",
    "--hidden",
    "4",
    "--max-iter",
    "15",
    "--seed",
    "5",
    "--sweep",
]


@pytest.fixture(scope="module")
def served(prefect_server, project, spawn, poll):
    """`nnflow serve` running in its own process group until the module is done."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    store = f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"
    log = project / "serve.log"
    env = prefect_server.env(MLFLOW_TRACKING_URI=store)
    with temporary_settings({PREFECT_API_URL: prefect_server.api_url}):
        with get_client(sync_client=True) as client:
            # `prefect deploy` (test_prefect_yaml) declares the same name: start afresh.
            for existing in client.read_deployments():
                if existing.name in ("nightly", "nightly-sweep"):
                    client.delete_deployment(existing.id)
    with spawn([str(BIN / "nnflow"), "serve", *SERVE_ARGS], log, cwd=project, env=env) as serve:

        def deployments():
            with temporary_settings({PREFECT_API_URL: prefect_server.api_url}):
                with get_client(sync_client=True) as client:
                    try:
                        return {
                            name: client.read_deployment_by_name(name)
                            for name in ("train/nightly", "sweep/nightly-sweep")
                        }
                    except Exception:  # ObjectNotFound until serve has registered both
                        return None

        yield poll(deployments, 180, "nnflow serve", serve, log), store


def test_serve_creates_the_scheduled_deployments(served):
    deployments, _ = served
    deployment, sweep = deployments["train/nightly"], deployments["sweep/nightly-sweep"]
    (schedule,) = deployment.schedules
    assert schedule.active
    assert schedule.schedule.cron == "30 2 * * 1-5"
    assert schedule.schedule.timezone == "Europe/Berlin"
    assert deployment.global_concurrency_limit.limit == 1
    assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
    params = deployment.parameters["params"]
    assert params["data"] == "data/iris.csv" and params["hidden"] == [4]
    assert params["max_iter"] == 15 and params["seed"] == 5
    assert params["register_model"] is False
    assert deployment.entrypoint == "flows.pipeline.train_flow"

    assert sweep.entrypoint == "flows.sweep.sweep_flow"
    assert [s.schedule.cron for s in sweep.schedules] == ["30 2 * * 1-5"]
    assert sweep.global_concurrency_limit.limit == 1
    assert sweep.parameters["params"]["base"] == params


def test_a_run_of_the_deployment_finishes_an_mlflow_run(served, prefect_client):
    from prefect.deployments import run_deployment

    deployments, store = served
    deployment = deployments["train/nightly"]
    flow_run = run_deployment(
        deployment.id, timeout=240, poll_interval=2, as_subflow=False, client=prefect_client
    )
    assert flow_run.state.is_completed(), flow_run.state
    client = MlflowClient(store)
    (experiment,) = [e for e in client.search_experiments() if e.name == "iris"]
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.prefect_flow_run_id = '{flow_run.id}'"
    )
    assert run.info.status == "FINISHED"
    assert run.data.params["hidden_layers"] == "4" and run.data.params["seed"] == "5"


def test_serve_without_a_server_says_how_to_start_one(project):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "flows", "serve"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "PREFECT_API_URL" in last and "prefect server start" in last
    assert "Traceback" not in result.stderr
