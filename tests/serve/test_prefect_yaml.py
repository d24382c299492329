"""`prefect deploy --all` of the root prefect.yaml against a real server (no worker needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def prefect(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PREFECT, *args], cwd=REPO, env=server.env(), capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def declared() -> dict[str, dict]:
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    return {d["name"]: d for d in spec["deployments"]}


def test_parameters_validate_as_the_flows_models(declared):
    from flows.params import TrainParams
    from flows.sweep import SweepParams

    TrainParams.model_validate(declared["nightly"]["parameters"]["params"])
    assert SweepParams.model_validate(declared["nightly-sweep"]["parameters"]["params"]).points()


def test_prefect_yaml_deploys_every_deployment(prefect_server, prefect_client, declared):
    pool = {d["work_pool"]["name"] for d in declared.values()}
    for name in pool:
        created = prefect(prefect_server, "work-pool", "create", name, "--type", "process")
        assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
    deployed = prefect(prefect_server, "--no-prompt", "deploy", "--all")
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    for flow, name in (("train", "nightly"), ("sweep", "nightly-sweep")):
        deployment = prefect_client.read_deployment_by_name(f"{flow}/{name}")
        spec = declared[name]
        assert deployment.entrypoint == spec["entrypoint"]
        assert deployment.work_pool_name in pool
        assert deployment.path == str(REPO) or deployment.pull_steps[0][
            "prefect.deployments.steps.set_working_directory"
        ]["directory"] == str(REPO)
        (schedule,) = deployment.schedules
        assert schedule.schedule.cron == spec["schedules"][0]["cron"]
        assert schedule.schedule.timezone == "UTC"
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
        assert deployment.parameters == spec["parameters"]
