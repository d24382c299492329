"""The `nnflow` command line.

Prefect and MLflow are imported inside the commands, so `nnflow --help` stays fast.
Exit status: 0 done; 2 bad usage or bad data (one line naming file, column, row, rule);
1 anything else.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import sys
from typing import Annotated

import typer

from flows.errors import NnflowError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train, track and reproduce NumPy sigmoid networks with Prefect and MLflow.",
)

DataOpt = Annotated[str, typer.Option("--data", help="CSV or Parquet file")]
LabelOpt = Annotated[str, typer.Option("--label", help="label column")]
LamOpt = Annotated[float, typer.Option("--lam", help="L2 regularisation (lambda)")]
OptimizerOpt = Annotated[str, typer.Option("--optimizer", help="lbfgs | gd | adam")]
LrOpt = Annotated[float, typer.Option("--learning-rate", help="gd/adam step size")]
MaxIterOpt = Annotated[int, typer.Option("--max-iter", help="iteration limit")]
TolOpt = Annotated[float, typer.Option("--tol", help="stop when the cost improves by less")]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", help="adam mini-batch size")]
SeedOpt = Annotated[int, typer.Option("--seed", help="seeds init, split and shuffling")]
ExperimentOpt = Annotated[
    str | None, typer.Option("--experiment", help="MLflow experiment (default: data stem)")
]
RegisterOpt = Annotated[
    bool,
    typer.Option("--register/--no-register", help="register; champion if it beats the current one"),
]


def parse_layers(text: str) -> list[int]:
    """'25,25' -> [25, 25]; a clear usage error otherwise."""
    try:
        layers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--hidden: expected sizes like 25 or 50,25, got {text!r}") from None
    if not layers or any(size < 1 for size in layers):
        raise UsageError(f"--hidden: layer sizes must be positive integers, got {text!r}")
    return layers


def build_params(**values) -> TrainParams:  # noqa: F821 - imported lazily
    """Validate train options into TrainParams before any work; errors become exit 2."""
    from pydantic import ValidationError

    from flows.params import TrainParams

    try:
        return TrainParams(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "parameters"
        raise UsageError(f"--{field.replace('_', '-')}: {first['msg']}") from None


def train_options(
    data: DataOpt = "data/digits.csv",
    label: LabelOpt = "label",
    hidden: Annotated[str, typer.Option("--hidden", help="hidden sizes, e.g. 25 or 50,25")] = "25",
    lam: LamOpt = 1.0,
    optimizer: OptimizerOpt = "lbfgs",
    learning_rate: LrOpt = 1.0,
    max_iter: MaxIterOpt = 100,
    tol: TolOpt = 1e-6,
    batch_size: BatchOpt = None,
    seed: SeedOpt = 0,
    experiment: ExperimentOpt = None,
    register: RegisterOpt = False,
) -> TrainParams:  # noqa: F821 - imported lazily
    """The train options (shared by `train` and `serve`), validated into TrainParams."""
    return build_params(
        data=data,
        label=label,
        hidden=parse_layers(hidden),
        lam=lam,
        optimizer=optimizer,
        learning_rate=learning_rate,
        max_iter=max_iter,
        tol=tol,
        batch_size=batch_size,
        seed=seed,
        experiment=experiment,
        register_model=register,
    )


def _evaluated_parameters(fn, skip: str = "") -> list[inspect.Parameter]:
    """`fn`'s parameters with their (postponed, string) annotations evaluated.

    One by one, rather than `inspect.signature(eval_str=True)`: TrainParams, the
    annotation of `params` and of return values here, is imported lazily.
    """
    return [
        p.replace(annotation=eval(p.annotation, fn.__globals__))
        for p in inspect.signature(fn).parameters.values()
        if p.name != skip
    ]


def with_train_options(command):
    """Give a command the train options; it receives them validated, as `params`.

    typer reads a command's options from its signature, so the wrapper's signature is the
    command's own parameters followed by those of `train_options`.
    """
    options = _evaluated_parameters(train_options)
    own = _evaluated_parameters(command, skip="params")

    @functools.wraps(command)
    def wrapper(**kwargs):
        params = train_options(**{p.name: kwargs.pop(p.name) for p in options})
        return command(params=params, **kwargs)

    wrapper.__signature__ = inspect.Signature([*own, *options])
    wrapper.__annotations__ = {
        **{k: v for k, v in command.__annotations__.items() if k != "params"},
        **{k: v for k, v in train_options.__annotations__.items() if k != "return"},
    }
    return wrapper


@app.command()
@with_train_options
def train(params: TrainParams) -> None:  # noqa: F821 - imported lazily
    """Validate, prepare, train and evaluate one network; log it all to MLflow."""
    prepare_runtime()
    from flows.pipeline import train_flow

    with prefect_api():
        run_id = train_flow(params)
    report_run(run_id)


def parse_floats(option: str, texts: list[str]) -> list[float]:
    """'0,0.3,1' (repeatable) -> [0.0, 0.3, 1.0]."""
    try:
        return [float(part) for text in texts for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{option}: expected numbers like 0,0.3,1, got {texts!r}") from None


def parse_words(texts: list[str]) -> list[str]:
    return [part.strip() for text in texts for part in text.split(",") if part.strip()]


@app.command()
def sweep(
    hidden: Annotated[
        list[str],
        typer.Option("--hidden", help="one architecture per use, e.g. --hidden 25 --hidden 50,25"),
    ],
    lam: Annotated[list[str], typer.Option("--lam", help="values, e.g. 0,0.3,1")] = ["1"],  # noqa: B006
    learning_rate: Annotated[list[str], typer.Option("--learning-rate")] = ["1"],  # noqa: B006
    optimizer: Annotated[list[str], typer.Option("--optimizer")] = ["lbfgs"],  # noqa: B006
    seed: Annotated[list[str], typer.Option("--seed")] = ["0"],  # noqa: B006
    random: Annotated[
        int | None, typer.Option("--random", help="sample N points of the grid")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="start a local Dask cluster")
    ] = None,
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", help="tcp://host:8786")
    ] = None,
    data: DataOpt = "data/digits.csv",
    label: LabelOpt = "label",
    max_iter: MaxIterOpt = 100,
    tol: TolOpt = 1e-6,
    batch_size: BatchOpt = None,
    split_seed: Annotated[int, typer.Option("--split-seed", help="seeds the split")] = 0,
    experiment: ExperimentOpt = None,
    register: Annotated[bool, typer.Option("--register/--no-register")] = True,
) -> None:
    """Train every point of a grid in parallel; compare in MLflow; promote the best."""
    from pydantic import ValidationError

    base = build_params(
        data=data,
        label=label,
        max_iter=max_iter,
        tol=tol,
        batch_size=batch_size,
        seed=split_seed,
        experiment=experiment,
    )
    prepare_runtime()
    from flows.sweep import SweepParams, sweep_flow

    try:
        params = SweepParams(
            base=base,
            hidden=[parse_layers(h) for h in hidden],
            lam=parse_floats("--lam", lam),
            learning_rate=parse_floats("--learning-rate", learning_rate),
            optimizer=parse_words(optimizer),
            seed=[int(x) for x in parse_words(seed)],
            random=random,
            workers=workers,
            dask_address=dask_address,
            register_model=register,
        )
    except (ValidationError, ValueError) as exc:
        raise UsageError(f"sweep: {_first_error(exc)}") from None
    with prefect_api():
        parent = sweep_flow(params)
    report_sweep(parent)


def _first_error(exc: Exception) -> str:
    if hasattr(exc, "errors"):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"--{where.replace('_', '-')}: {first['msg']}" if where else first["msg"]
    return str(exc)


@app.command()
def predict(
    model: Annotated[
        str,
        typer.Option(
            "--model", help="run id, runs:/ or models:/ URI, 'champion', or a model directory"
        ),
    ],
    data: Annotated[str, typer.Option("--data", help="CSV/Parquet with the feature columns")],
    out: Annotated[str | None, typer.Option("--out", help="CSV to write (default stdout)")] = None,
    experiment: ExperimentOpt = None,
) -> None:
    """Predict labels (and class probabilities) for raw rows with a logged model."""
    prepare_runtime(prefect=False)
    from flows.predicting import predict_file

    written = predict_file(model, data, out, experiment=experiment)
    if out:
        typer.echo(f"wrote {written} predictions to {out}", err=True)


@app.command()
def ui(
    port: Annotated[int, typer.Option("--port")] = 5000,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
) -> None:
    """Open the MLflow UI on the tracking store (the embedded one by default)."""
    from flows.settings import configure_environment, tracking_uri

    paths = configure_environment()
    uri = tracking_uri(paths)
    paths.mlruns.mkdir(exist_ok=True)
    typer.echo(f"MLflow UI for {uri} on http://{host}:{port} (Ctrl-C to stop)", err=True)
    args = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        host,
        "--port",
        str(port),
    ]
    if uri.startswith("sqlite:"):
        args += ["--default-artifact-root", paths.artifacts.resolve().as_uri()]
    os.execv(sys.executable, args)


def prepare_runtime(prefect: bool = True) -> None:
    """Project-local Prefect state, no telemetry; fail fast if PREFECT_API_URL is down."""
    from flows.settings import configure_environment

    configure_environment()
    if not prefect:
        return
    if os.environ.get("PREFECT_API_URL"):
        check_prefect_api(os.environ["PREFECT_API_URL"])
    from prefect.logging.configuration import setup_logging

    setup_logging()
    for handler in logging.getLogger().handlers:
        handler.addFilter(_hide_user_error_tracebacks)


def _hide_user_error_tracebacks(record: logging.LogRecord) -> bool:
    """Bad data or usage is reported in one line at the end, not as a stack trace.

    Prefect logs every failed task with its traceback; for our typed user errors the
    console gets the message alone (the Prefect API still receives the full record).
    """
    if record.exc_info and isinstance(record.exc_info[1], NnflowError):
        record.exc_info, record.exc_text = None, None
    return True


@contextlib.contextmanager
def prefect_api():
    """`$PREFECT_API_URL`, or Prefect's temporary server for the length of one command.

    The temporary server is started here rather than lazily by Prefect so that its URL can
    go into the environment: Dask worker processes of a local cluster inherit it and report
    their task runs to the same server instead of each starting one of their own. It is
    stopped before we print the outcome, so the command's last line is ours.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()  # the instance Prefect itself would use
    server.start(timeout=int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield
    finally:
        APILogWorker.drain_all(timeout=5)  # send the last logs while the server listens
        del os.environ["PREFECT_API_URL"]
        server.stop()


def check_prefect_api(url: str) -> None:
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/health", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        raise NnflowError(
            f"Prefect API at {url} is unreachable ({type(exc).__name__}): start it with "
            "`prefect server start`, or unset PREFECT_API_URL to use a temporary local server"
        ) from None


def report_run(run_id: str) -> None:
    """The closing lines of `train`: metrics, then the run id and where to look."""
    from flows.tracking import Tracker

    run = Tracker().get_run(run_id)
    metrics = run.data.metrics
    summary = ", ".join(
        f"{k} {metrics[k]:.4f}"
        for k in ("train_accuracy", "val_accuracy", "test_accuracy")
        if k in metrics
    )
    typer.echo(f"{summary}", err=False)
    typer.echo(f"MLflow run {run_id} {run.info.status} (see it with `nnflow ui`)")


def report_sweep(parent: str) -> None:
    from flows.tracking import Tracker

    run = Tracker().get_run(parent)
    tags, metrics = run.data.tags, run.data.metrics
    typer.echo(
        f"{int(metrics.get('n_points', 0))} points, {int(metrics.get('n_failed', 0))} "
        f"failed; best val_accuracy {metrics.get('best_val_accuracy', float('nan')):.4f} "
        f"(run {tags.get('best_run_id')})"
    )
    typer.echo(f"MLflow run {parent} {run.info.status} (sweep parent; see it with `nnflow ui`)")


@app.command()
@with_train_options
def serve(
    params: TrainParams,  # noqa: F821 - imported lazily
    cron: Annotated[str, typer.Option("--cron", help="when to retrain (cron)")] = "0 3 * * *",
    timezone: Annotated[str, typer.Option("--timezone", help="time zone of the cron")] = "UTC",
    with_sweep: Annotated[
        bool, typer.Option("--sweep/--no-sweep", help="also serve the sweep flow")
    ] = False,
) -> None:
    """Retrain on a cron schedule, one run at a time, until Ctrl-C (needs a Prefect server)."""
    prepare_runtime(prefect=False)
    from flows.serving import serve_deployments, sweep_deployment, train_deployment

    deployments = [train_deployment(params, cron, timezone)]
    if with_sweep:
        deployments.append(sweep_deployment(params, cron, timezone))
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        raise NnflowError(
            "serving needs a Prefect server and PREFECT_API_URL is unset: start one with "
            "`prefect server start`, then export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    check_prefect_api(url)
    names = ", ".join(f"{d.flow_name}/{d.name}" for d in deployments)
    typer.echo(
        f"serving {names} on {url}: cron {cron!r} ({timezone}), one run at a time; Ctrl-C to stop",
        err=True,
    )
    serve_deployments(deployments)


@app.command()
def reproduce(
    run_id: Annotated[str, typer.Argument(help="the MLflow run to replay")],
) -> None:
    """Replay a logged run with its own params and data; prove the new thetas identical."""
    prepare_runtime()
    from flows.reproduce import plan_replay, replay

    plan = plan_replay(run_id)
    if plan.environment_differences:
        typer.echo(
            f"nnflow: warning: environment differs from run {run_id}'s: "
            f"{'; '.join(plan.environment_differences)}",
            err=True,
        )
    with prefect_api():
        outcome = replay(plan)
    if not outcome.exact:
        raise NnflowError(
            f"MLflow run {outcome.replay_run_id} differs from run {run_id}: thetas_sha256 "
            f"{outcome.replay_sha256[:16]} != {outcome.original_sha256[:16]}, "
            f"max_abs_theta_diff {outcome.max_abs_theta_diff:.3g}"
        )
    typer.echo(
        f"MLflow run {outcome.replay_run_id} reproduces run {run_id} exactly "
        f"(thetas_sha256 {outcome.original_sha256[:16]})"
    )


def main() -> None:
    """Console entry point: typed errors become one line and an exit code."""
    try:
        app(standalone_mode=False)
    except NnflowError as exc:
        typer.echo(f"nnflow: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("nnflow: aborted", err=True)
        sys.exit(1)
    except Exception as exc:  # click usage errors carry their own exit code (2)
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        typer.echo(f"nnflow: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
