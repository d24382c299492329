"""Session-wide fixtures: one temporary Prefect server and project-local state for all.

Prefect reads its settings from the environment when it is imported, so the environment
is set in `pytest_configure`, before any test module imports it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from support import new_project, nnflow

_STATE = Path(tempfile.mkdtemp(prefix="nnflow-tests-"))


def pytest_configure(config):
    os.environ.update(
        {
            "PREFECT_HOME": str(_STATE / "prefect"),
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(_STATE / "prefect" / "storage"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
        }
    )
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("PREFECT_API_URL", None)


def pytest_unconfigure(config):
    shutil.rmtree(_STATE, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_api() -> str:
    """One temporary Prefect server for the whole session; its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture(autouse=True)
def no_inherited_tracking_uri(monkeypatch):
    """Each test starts on the default store of its working directory."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A fresh working directory with the data sets; the test runs inside it."""
    monkeypatch.chdir(tmp_path)
    return new_project(tmp_path)


@pytest.fixture
def run_cli(prefect_api, project):
    """`nnflow ARGS` in the test's project, against the session's Prefect server."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: int = 600):
        return nnflow(project, prefect_api, *args, env=env, timeout=timeout)

    return run
