"""The served topology for `make test-stack`: PostgreSQL-backed Prefect and MLflow servers
and a two-worker Dask cluster, started once per session by scripts/stack.sh.

The session gets fresh databases with unique names and its own free ports and state
directory; teardown stops every process it started, proves they are gone, and drops the
databases. PostgreSQL that cannot be reached fails the session: it never skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK_SH = REPO / "scripts" / "stack.sh"
STACK_DB = REPO / "scripts" / "stack_db.py"
BIN = Path(sys.executable).parent


def pytest_collection_modifyitems(config, items):
    """Plain `pytest tests` (make test) stays free of services: stack tests run only when
    asked for with `-m stack`, and are reported as deselected otherwise."""
    if "stack" in (config.option.markexpr or ""):
        return
    deselected = [item for item in items if item.get_closest_marker("stack")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("stack")]


@dataclass(frozen=True)
class Stack:
    prefect_api_url: str
    mlflow_uri: str
    dask_address: str
    mlflow_db_url: str  # psycopg2 URL of the database that backs the MLflow server
    state: Path  # pid files, logs, served artifacts
    workdir: Path  # the client's (and the Dask workers') project directory

    def client_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PREFECT_API_URL": self.prefect_api_url,
            "MLFLOW_TRACKING_URI": self.mlflow_uri,
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_settings() -> dict[str, str]:
    """Where the test PostgreSQL is: the same STACK_PG_* variables scripts/stack.sh reads."""
    return {
        "host": os.environ.get("STACK_PG_HOST", "127.0.0.1"),
        "port": os.environ.get("STACK_PG_PORT", "5432"),
        "user": os.environ.get("STACK_PG_USER", "postgres"),
        "password": os.environ.get("STACK_PG_PASSWORD", ""),
    }


def pg_url(database: str) -> str:
    pg = pg_settings()
    auth = pg["user"] + (f":{pg['password']}" if pg["password"] else "")
    return f"postgresql://{auth}@{pg['host']}:{pg['port']}/{database}"


def group_alive(pgid: int, grace: float = 5.0) -> bool:
    """Whether any process of the group is left (after a grace period for reaping)."""
    deadline = time.monotonic() + grace
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.2)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    check = subprocess.run(
        [sys.executable, str(STACK_DB), "check", "--url", pg_url("postgres")],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        pytest.fail(
            f"make test-stack needs PostgreSQL (STACK_PG_HOST/PORT/USER/PASSWORD): "
            f"{(check.stderr or check.stdout).strip()}",
            pytrace=False,
        )

    suffix = secrets.token_hex(4)
    state = tmp_path_factory.mktemp("stack")
    workdir = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "data", workdir / "data", ignore=shutil.ignore_patterns("*.py", "*.md"))
    env = {
        **os.environ,
        "STACK_DIR": str(state),
        "STACK_WORKDIR": str(workdir),
        "STACK_BIN": str(BIN),
        "STACK_PREFECT_DB": f"nnflow_test_{suffix}_prefect",
        "STACK_MLFLOW_DB": f"nnflow_test_{suffix}_mlflow",
        "STACK_PREFECT_PORT": str(free_port()),
        "STACK_MLFLOW_PORT": str(free_port()),
        "STACK_DASK_PORT": str(free_port()),
        "STACK_DASK_DASHBOARD_PORT": "",
        "STACK_WORKERS": "2",
    }
    try:
        started = subprocess.run(
            ["bash", str(STACK_SH), "start"], env=env, capture_output=True, text=True, timeout=600
        )
        assert started.returncode == 0, f"stack.sh start failed:\n{started.stderr[-4000:]}"
        exported = dict(
            line.removeprefix("export ").split("=", 1)
            for line in started.stdout.splitlines()
            if line.startswith("export ")
        )
        yield Stack(
            prefect_api_url=exported["PREFECT_API_URL"],
            mlflow_uri=exported["MLFLOW_TRACKING_URI"],
            dask_address=exported["DASK_ADDRESS"],
            mlflow_db_url=pg_url(env["STACK_MLFLOW_DB"]),
            state=state,
            workdir=workdir,
        )
    finally:
        pids = {p.stem: int(p.read_text()) for p in state.glob("*.pid") if p.read_text().strip()}
        stopped = subprocess.run(
            ["bash", str(STACK_SH), "stop"], env=env, capture_output=True, text=True, timeout=120
        )
        again = subprocess.run(
            ["bash", str(STACK_SH), "stop"], env=env, capture_output=True, text=True, timeout=60
        )
        dropped = subprocess.run(
            ["bash", str(STACK_SH), "dropdb"], env=env, capture_output=True, text=True, timeout=120
        )
        survivors = {name: pid for name, pid in pids.items() if group_alive(pid)}
        assert stopped.returncode == 0, stopped.stderr
        assert again.returncode == 0 and not again.stderr, f"stop is not idempotent: {again}"
        assert dropped.returncode == 0, dropped.stderr
        assert not survivors, f"stack.sh stop left processes running: {survivors}"


@pytest.fixture(scope="session")
def run_nnflow(stack):
    """`nnflow ARGS` as a user on a laptop runs it: a subprocess configured by env only."""

    def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "nnflow"), *args],
            cwd=stack.workdir,
            env=stack.client_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
