"""Where nnflow keeps its state: one root, every path derived from it.

The root is the working directory (the project checkout for `make train`). Nothing here
runs at import time; `configure_environment()` is called by the command line and the
test harness before Prefect or MLflow is imported, because both read their settings
from the environment when they load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """Paths derived from one root directory."""

    root: Path

    @property
    def mlruns(self) -> Path:
        return self.root / "mlruns"

    @property
    def mlflow_db(self) -> Path:
        return self.mlruns / "mlflow.db"

    @property
    def artifacts(self) -> Path:
        return self.mlruns / "artifacts"

    @property
    def prefect_home(self) -> Path:
        return self.root / ".prefect"

    @property
    def results(self) -> Path:
        return self.prefect_home / "storage"

    @property
    def default_tracking_uri(self) -> str:
        # The root is the working directory, so this is `sqlite:///mlruns/mlflow.db`
        # made absolute: runs started from a subprocess land in the same store.
        return f"sqlite:///{self.mlflow_db}"


def project_paths(root: Path | None = None) -> Paths:
    return Paths((root or Path.cwd()).resolve())


def tracking_uri(paths: Paths | None = None) -> str:
    """`$MLFLOW_TRACKING_URI`, else the embedded SQLite store under `mlruns/`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or (paths or project_paths()).default_tracking_uri


def configure_environment(paths: Paths | None = None) -> Paths:
    """Point Prefect at project-local state and switch off everything that phones home.

    User-set values win: only unset variables are filled in.
    """
    paths = paths or project_paths()
    defaults = {
        "PREFECT_HOME": str(paths.prefect_home),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(paths.results),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        # Dask's per-task INFO chatter (and shutdown noise) would bury the training log.
        "DASK_LOGGING__DISTRIBUTED": "warning",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    return paths
