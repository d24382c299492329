"""Scheduled retraining: the train flow (and optionally the sweep) as served deployments.

`nnflow serve` registers deployments with a cron schedule on a real Prefect server and
runs their flow runs in subprocesses of this process (Prefect's `serve`). Each deployment
holds a concurrency limit of 1 with the ENQUEUE collision strategy: a nightly run that
is still training when the next one is due makes the next one wait for it, rather than
two runs racing on the same store. `prefect.yaml` at the root declares the same
deployments for work-pool workers (`prefect deploy --all`).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from flows.errors import UsageError
from flows.params import TrainParams

TRAIN_DEPLOYMENT = "nightly"
SWEEP_DEPLOYMENT = "nightly-sweep"
DEFAULT_CRON = "0 3 * * *"
DEFAULT_TIMEZONE = "UTC"
TAGS = ["nnflow", "scheduled"]


def one_at_a_time() -> ConcurrencyLimitConfig:
    """At most one run of a deployment at once; further runs queue (never cancelled)."""
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def schedule(cron: str, timezone: str) -> Any:
    """A cron schedule in a named timezone; a bad expression or zone is a usage error."""
    try:
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise UsageError(
            f"--timezone: unknown time zone {timezone!r} (e.g. UTC, Europe/Berlin)"
        ) from None
    try:
        return Cron(cron, timezone=timezone)
    except ValueError as error:
        raise UsageError(f"--cron: {str(error).strip().splitlines()[0]}") from None


def train_deployment(params: TrainParams, cron: str, timezone: str) -> RunnerDeployment:
    """The train flow on `cron` with `params` as its default parameters."""
    from flows.pipeline import train_flow

    return _deployment(train_flow, TRAIN_DEPLOYMENT, params, cron, timezone, "Retrain")


def sweep_deployment(params: TrainParams, cron: str, timezone: str) -> RunnerDeployment:
    """The sweep flow on `cron`, its shared options taken from `params`."""
    from flows.sweep import SweepParams, sweep_flow

    sweep = SweepParams(base=params, register_model=params.register_model)
    return _deployment(sweep_flow, SWEEP_DEPLOYMENT, sweep, cron, timezone, "Sweep")


def _deployment(flow, name: str, flow_params, cron: str, timezone: str, verb: str):
    """A scheduled deployment of `flow`, one run at a time, `flow_params` as its defaults."""
    base = getattr(flow_params, "base", flow_params)
    return flow.to_deployment(
        name=name,
        schedules=[schedule(cron, timezone)],
        concurrency_limit=one_at_a_time(),
        parameters={"params": flow_params.model_dump(mode="json")},
        description=f"{verb} {base.experiment_name} on {base.data} ({cron}, {timezone})",
        tags=TAGS,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve_deployments(deployments: list[RunnerDeployment]) -> None:
    """Register the deployments and run their scheduled runs until interrupted."""
    from prefect import serve

    serve(*deployments, print_starting_message=False)
