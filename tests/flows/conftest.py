"""Fixtures for the data-layer tests (flows.data, flows.schema, flows.prepare)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
# file -> (rows, columns including the label, classes)
SHIPPED = {
    "digits.csv": (1797, 65, list(range(10))),
    "iris.csv": (150, 5, ["setosa", "versicolor", "virginica"]),
    "breast_cancer.csv": (569, 31, [0, 1]),
}


class Shipped(NamedTuple):
    path: Path
    rows: int
    columns: int  # including the label
    classes: list


@pytest.fixture(params=sorted(SHIPPED))
def shipped(request) -> Shipped:
    """Each shipped data file in turn, with its documented shape and classes."""
    return Shipped(DATA / request.param, *SHIPPED[request.param])


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def shipped_names() -> list[str]:
    return sorted(SHIPPED)


@pytest.fixture
def write_file(tmp_path):
    """Write text or bytes to tmp_path/name and return the path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="")
        else:
            path.write_bytes(content)
        return path

    return write


@pytest.fixture
def labelled_frame() -> pd.DataFrame:
    """60 rows, 3 unbalanced classes, a `row_id` feature that names each row, noise."""
    rng = np.random.default_rng(7)
    m = 60
    return pd.DataFrame(
        {
            "row_id": np.arange(m, dtype=np.int64),
            "x1": rng.normal(5.0, 2.0, m),
            "x2": rng.integers(0, 17, m),
            "constant": np.full(m, 3.25),
            "label": np.repeat(["b", "a", "c"], [30, 20, 10]),
        }
    )
