"""A real `prefect server start` on 127.0.0.1 for the scheduled-retraining tests.

The server gets a free port, its own PREFECT_HOME and SQLite database in a temporary
directory, no UI and no telemetry. It runs in its own process group (as does every
`nnflow serve` the tests start), and teardown kills the whole group and proves that no
process of it is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 180


@dataclass(frozen=True)
class PrefectServer:
    api_url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a client of this server (PREFECT_API_URL set)."""
        return {**os.environ, "PREFECT_API_URL": self.api_url, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_gone(pgid: int, grace: float = 10.0) -> bool:
    """Whether every process of the group has exited (within a grace period)."""
    deadline = time.monotonic() + grace
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def stop_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process group, SIGKILL it after `timeout`; reap the leader."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        if group_gone(process.pid, grace=2):
            break


@contextmanager
def process_group(args: list[str], log: Path, **kwargs) -> Iterator[subprocess.Popen]:
    """Start `args` as the leader of a new process group; always stop the whole group."""
    with log.open("w") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
    try:
        yield process
    finally:
        stop_group(process)
        assert group_gone(process.pid), f"processes of {args[:3]} survived their stop"


def wait_until(check, timeout: float, what: str, process: subprocess.Popen, log: Path):
    """Poll `check()` until it returns a truthy value; fail with the log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{what}: process exited {process.returncode}:\n{log.read_text()[-4000:]}",
                pytrace=False,
            )
        if value := check():
            return value
        time.sleep(1)
    pytest.fail(f"{what}: not within {timeout:.0f} s:\n{log.read_text()[-4000:]}", pytrace=False)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """`prefect server start` on a free port with SQLite in a temporary directory."""
    state = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(state / "home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{state / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    url = f"http://127.0.0.1:{port}/api"
    log = state / "server.log"
    args = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with process_group(args, log, env=env, cwd=state) as server:

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, STARTUP_SECONDS, "prefect server start", server, log)
        yield PrefectServer(api_url=url, home=state / "home")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A working directory with the shipped data, for `nnflow serve` and its runs."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(REPO / "data", root / "data", ignore=shutil.ignore_patterns("*.py", "*.md"))
    return root


@pytest.fixture
def prefect_client(prefect_server):
    """A synchronous Prefect client of the test server."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_server.api_url}):
        with get_client(sync_client=True) as client:
            yield client


@pytest.fixture(scope="session")
def spawn():
    """`with spawn(args, log, **popen_kwargs) as process:`, a process group always stopped."""
    return process_group


@pytest.fixture(scope="session")
def poll():
    """`poll(check, timeout, what, process, log)`: wait for `check()`, failing with the log."""
    return wait_until
