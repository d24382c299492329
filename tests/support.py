"""Helpers shared by the end-to-end tests (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

DATA = Path(__file__).resolve().parents[1] / "data"


def new_project(directory: Path) -> Path:
    """A working directory (so its own embedded MLflow store) holding the data sets."""
    shutil.copytree(DATA, directory / "data", ignore=shutil.ignore_patterns("*.py", "*.md"))
    return directory


def nnflow(
    cwd: Path, api_url: str, *args: str, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run `nnflow ARGS` as a user would, in a subprocess against the given Prefect API."""
    full_env = {**os.environ, "PREFECT_API_URL": api_url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "flows", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def store(project) -> MlflowClient:
    return MlflowClient(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")


def all_runs(client: MlflowClient):
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments) if experiments else []


def artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def run_id_from(stdout: str) -> str:
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("MLflow run "), last
    return last.split()[2]
