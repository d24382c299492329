"""What produced a run: code version, git commit, environment."""

from __future__ import annotations

import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]


def nnflow_version() -> str:
    try:
        return version("nnflow")
    except PackageNotFoundError:
        return "unknown"


def git_commit() -> str:
    """The checkout's HEAD, with `-dirty` when tracked files differ; `unknown` outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty.strip() else "")


def run_tags(**extra: str) -> dict[str, str]:
    return {"git_commit": git_commit(), "nnflow_version": nnflow_version(), **extra}
