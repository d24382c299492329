"""The train flow in-process against the session's Prefect server: caching and failure."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.errors import DataError
from flows.params import TrainParams
from flows.pipeline import train_flow
from flows.tracking import Tracker


def task_states(flow_run_id) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {run.name.rsplit("-", 1)[0]: run.state.name for run in runs}


def test_new_hyperparameters_reuse_validation_and_preparation(prefect_api, project):
    train_flow(TrainParams(data="data/iris.csv", max_iter=5, lam=1.0))
    state = train_flow(TrainParams(data="data/iris.csv", max_iter=5, lam=0.5), return_state=True)
    assert state.is_completed()
    states = task_states(state.state_details.flow_run_id)
    assert states["validate_dataset"] == "Cached"
    assert states["prepare_matrices"] == "Cached"
    assert states["train_network"] == "Completed"
    run = Tracker().get_run(state.result())
    assert run.data.params["lam"] == "0.5" and run.info.status == "FINISHED"


def test_a_new_split_seed_prepares_again(prefect_api, project):
    train_flow(TrainParams(data="data/iris.csv", max_iter=5, seed=11))
    state = train_flow(TrainParams(data="data/iris.csv", max_iter=5, seed=12), return_state=True)
    assert task_states(state.state_details.flow_run_id)["prepare_matrices"] == "Completed"


def test_missing_file_fails_the_run_with_its_reason(prefect_api, project):
    with pytest.raises(DataError, match=r"nope\.csv"):
        train_flow(TrainParams(data="nope.csv"))
    tracker = Tracker()
    (run,) = tracker.client.search_runs([tracker.experiment_id("nope")])
    assert run.info.status == "FAILED"
    assert "nope.csv" in run.data.tags["failure_reason"]
