"""Write the shipped data sets as CSV from scikit-learn's bundled copies.

    python data/make_datasets.py [OUT_DIR]      (default: the directory of this script)

scikit-learn is a dev dependency only; the CSVs are committed so that nnflow never
needs it. Output is byte-stable: rows in scikit-learn's order, integers as integers,
floats as Python's shortest round-trip repr, "\\n" line endings. Prints each file's
sha256 for data/README.md.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

import numpy as np


def make_digits(out_dir: Path) -> Path:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = bunch.data.astype(np.int64)  # stored as float 0..16; they are counts
    header = [f"pixel_{i}" for i in range(pixels.shape[1])] + ["label"]
    rows = [[*map(int, x), int(t)] for x, t in zip(pixels, bunch.target, strict=True)]
    return _write(out_dir / "digits.csv", header, rows)


def make_iris(out_dir: Path) -> Path:
    from sklearn.datasets import load_iris

    bunch = load_iris()
    header = ["sepal_length", "sepal_width", "petal_length", "petal_width", "label"]
    names = [str(name) for name in bunch.target_names]  # setosa, versicolor, virginica
    rows = [[*map(float, x), names[t]] for x, t in zip(bunch.data, bunch.target, strict=True)]
    return _write(out_dir / "iris.csv", header, rows)


def make_breast_cancer(out_dir: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    header = [name.replace(" ", "_") for name in bunch.feature_names] + ["label"]
    # label: 0 = malignant, 1 = benign (scikit-learn's coding)
    rows = [[*map(float, x), int(t)] for x, t in zip(bunch.data, bunch.target, strict=True)]
    return _write(out_dir / "breast_cancer.csv", header, rows)


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        # repr(float) is the shortest string that round-trips: stable and lossless.
        writer.writerows([repr(v) if isinstance(v, float) else v for v in row] for row in rows)
    return path


def main(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [make(out_dir) for make in (make_digits, make_iris, make_breast_cancer)]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for written in main(target):
        print(hashlib.sha256(written.read_bytes()).hexdigest(), written.name)
