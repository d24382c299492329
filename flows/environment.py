"""The environment a run was trained in, and what differs from it now.

Bit-for-bit replay needs the same code, data, seeds and BLAS thread count (all params of
the run), and the same numerical stack. A run records the last as tags (Python, NumPy,
SciPy, the BLAS library) plus `requirements.lock` as an artifact, so a replay on
another machine can name what differs instead of leaving the user to guess.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
LOCK_NAME = "requirements.lock"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def environment_tags() -> dict[str, str]:
    """Python, NumPy, SciPy and the BLAS library in force now, as run tags."""
    return {
        "python_version": platform.python_version(),
        "numpy_version": installed_version("numpy") or "none",
        "scipy_version": installed_version("scipy") or "none",
        "blas": blas_library(),
    }


def blas_library() -> str:
    """'openblas 0.3.29 pthreads' for each BLAS NumPy/SciPy loaded (threads are a param)."""
    import numpy  # noqa: F401 - threadpoolctl only sees libraries already loaded
    from threadpoolctl import threadpool_info

    found = sorted(
        {
            " ".join(
                str(pool.get(key) or "?") for key in ("internal_api", "version", "threading_layer")
            )
            for pool in threadpool_info()
            if pool.get("user_api") == "blas"
        }
    )
    return "; ".join(found) or "none"


def installed_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def requirements_lock(*roots: Path) -> Path | None:
    """The project's `requirements.lock`: the checkout's, else the working directory's."""
    for root in (*roots, _ROOT, Path.cwd()):
        if (root / LOCK_NAME).is_file():
            return root / LOCK_NAME
    return None


def parse_pins(text: str) -> dict[str, str]:
    """`name==version` lines of a lock file -> {normalised name: version}."""
    pins = {}
    for line in text.splitlines():
        if match := _PIN.match(line):
            pins[_normalise(match[1])] = match[2]
    return pins


def environment_differences(
    recorded_tags: Mapping[str, str], recorded_lock: str | None = None
) -> list[str]:
    """What differs between a run's recorded environment and this one, as short phrases.

    Tags the run did not record (older runs) are skipped, not reported. The recorded
    lock's pins are compared with what is installed now.
    """
    now = environment_tags()
    changes = [
        f"{key} {recorded_tags[key]} -> {value}"
        for key, value in now.items()
        if key in recorded_tags and recorded_tags[key] != value
    ]
    if recorded_lock:
        for name, pinned in sorted(parse_pins(recorded_lock).items()):
            current = installed_version(name)
            if current != pinned:
                changes.append(f"{name} {pinned} -> {current or 'not installed'}")
    return changes


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
