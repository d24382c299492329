"""From a validated table to the matrices nncore trains on, and back again.

`prepare_matrices` splits the rows (seeded, stratified), standardises the features with
statistics of the training split only, one-hot encodes the labels and prepends the bias
column. Everything needed to repeat that on new raw rows goes into a JSON-serialisable
`preprocessing` dict, which `transform_features` and `decode_labels` read.

Pure functions: no orchestration, no tracking, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

import nncore
from flows.errors import DataError

FORMAT_VERSION = 1
DTYPES = ("float32", "float64")
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Prepared:
    """The three splits as nncore wants them, plus how they were made.

    Xb_* are ndarray of shape (m_split, n+1) (column 0 all ones); Y_* of shape
    (m_split, K) one-hot, K = 1 for two classes; y_* of shape (m_split,) int64 class
    indices into `preprocessing["classes"]`.
    """

    Xb_train: np.ndarray
    Y_train: np.ndarray
    y_train: np.ndarray
    Xb_val: np.ndarray
    Y_val: np.ndarray
    y_val: np.ndarray
    Xb_test: np.ndarray
    Y_test: np.ndarray
    y_test: np.ndarray
    preprocessing: dict


def prepare_matrices(
    df: pd.DataFrame,
    *,
    label: str = "label",
    seed: int = 0,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    dtype: str = "float64",
) -> Prepared:
    """Split, standardise (fitted on train only), one-hot encode and bias-augment `df`.

    Every column but `label` is a feature, in table order. Classes are the sorted
    distinct labels. The same table and seed give byte-identical matrices.

    Notes
    -----
    Per class, rows are shuffled by `np.random.default_rng(seed)` and dealt out by
    largest remainder, so class k puts floor or ceil of `n_k * fraction` rows into
    each split (within one row of exact). Each split is then shuffled, so no split is
    ordered by class. Standardisation is `(x - mean) / scale` with the training split's
    mean and population standard deviation; a column constant on train gets scale 1.
    """
    fractions = _check_fractions(fractions)
    _check_dtype(dtype)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"expected seed to be an integer >= 0, got {seed!r}")
    if label not in df.columns:
        raise DataError(f"no label column {label!r}")
    feature_columns = [c for c in df.columns if c != label]
    if not feature_columns:
        raise DataError(f"no feature columns besides the label {label!r}")
    X = _feature_matrix(df, feature_columns)  # (m, n)
    classes, y = _encode_labels(df[label])  # y: (m,)
    rng = np.random.default_rng(seed)
    parts = stratified_split(y, fractions, rng)
    for name, part in zip(SPLITS, parts, strict=True):
        if len(part) == 0:
            raise DataError(
                f"the {name} split is empty: {len(y)} rows cannot be split as {fractions}"
            )
    mean, scale = _fit_scaler(X[parts[0]])
    K = 1 if len(classes) == 2 else len(classes)
    preprocessing = {
        "format_version": FORMAT_VERSION,
        "feature_columns": list(feature_columns),
        "label_column": label,
        "classes": classes,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "dtype": dtype,
        "split": {
            "seed": int(seed),
            "fractions": list(fractions),
            "n_train": len(parts[0]),
            "n_val": len(parts[1]),
            "n_test": len(parts[2]),
        },
    }
    matrices = []
    for part in parts:
        y_part = y[part]  # (m_split,)
        matrices += [
            _standardise(X[part], mean, scale, dtype),
            one_hot(y_part, K, dtype=dtype),
            y_part,
        ]
    return Prepared(*matrices, preprocessing=preprocessing)


def split_rows(
    df: pd.DataFrame,
    *,
    label: str = "label",
    seed: int = 0,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
) -> tuple[np.ndarray, ...]:
    """Row positions of the train, validation and test splits `prepare_matrices` makes.

    Lets raw rows of one split be scored again later, e.g. by another model.
    """
    _, y = _encode_labels(df[label])  # (m,)
    return stratified_split(y, _check_fractions(fractions), np.random.default_rng(seed))


def transform_features(df: pd.DataFrame, preprocessing: dict) -> np.ndarray:
    """Raw feature columns -> Xb, ndarray of shape (m, n+1), exactly as for training.

    Columns are picked by name (order and extra columns, the label included, do not
    matter). Raises `DataError` for a missing, non-numeric or non-finite column.
    """
    feature_columns = preprocessing["feature_columns"]
    missing = [str(c) for c in feature_columns if c not in df.columns]
    if missing:
        raise DataError(
            f"missing feature column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
        )
    X = _feature_matrix(df, feature_columns)  # (m, n)
    mean = np.asarray(preprocessing["mean"], dtype=np.float64)  # (n,)
    scale = np.asarray(preprocessing["scale"], dtype=np.float64)  # (n,)
    return _standardise(X, mean, scale, preprocessing["dtype"])


def decode_labels(indices, preprocessing: dict) -> np.ndarray:
    """Class indices, ndarray of shape (m,), -> the original labels, shape (m,)."""
    classes = np.asarray(preprocessing["classes"])
    indices = np.asarray(indices)
    if indices.size and (
        not np.issubdtype(indices.dtype, np.integer)
        or indices.min() < 0
        or indices.max() >= len(classes)
    ):
        raise ValueError(
            f"expected integer class indices in [0, {len(classes)}), "
            f"got {indices.dtype} values in [{indices.min()}, {indices.max()}]"
        )
    return classes[indices]


def one_hot(y, K: int, *, dtype: str = "float64") -> np.ndarray:
    """Class indices, shape (m,), -> targets Y, ndarray of shape (m, K).

    K = 1 is the two-class case: one column holding y == 1.
    """
    y = np.asarray(y)
    n_classes = 2 if K == 1 else K
    if K < 1 or y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(
            f"expected y of shape (m,) with values in [0, {n_classes}) and K >= 1, "
            f"got shape {y.shape}, K={K}"
        )
    if K == 1:
        return (y == 1).astype(dtype)[:, None]  # (m, 1)
    Y = np.zeros((len(y), K), dtype=dtype)  # (m, K)
    Y[np.arange(len(y)), y] = 1
    return Y


def stratified_split(
    y: np.ndarray, fractions: Sequence[float], rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Row indices of each split, one int64 array per fraction, stratified by `y`.

    Classes are visited in index order, so the draws from `rng` (and the result) depend
    only on `y`, `fractions` and the generator's state.
    """
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    dealt = np.zeros(len(fractions))  # rows given to each split so far
    for k in range(int(y.max()) + 1 if len(y) else 0):
        rows = rng.permutation(np.flatnonzero(y == k))
        shortfall = (dealt.sum() + len(rows)) * np.asarray(fractions) - dealt
        counts = _apportion(len(rows), fractions, shortfall)
        dealt += counts
        bounds = np.cumsum(counts)[:-1]
        for part, chunk in zip(parts, np.split(rows, bounds), strict=True):
            part.append(chunk)
    return tuple(
        rng.permutation(np.concatenate(part)).astype(np.int64) if part else np.array([], np.int64)
        for part in parts
    )


def _apportion(n: int, fractions: Sequence[float], shortfall: np.ndarray) -> list[int]:
    """Split n rows by largest remainder: each share is floor or ceil of n * fraction.

    Equal remainders (50 rows at 0.15 -> 7.5 twice) go to the split furthest below its
    overall target (`shortfall`), then to the earlier split, so that the split sizes
    stay close to exact too and the result is deterministic.
    """
    exact = [n * f for f in fractions]
    counts = [math.floor(e) for e in exact]
    by_remainder = sorted(
        range(len(exact)), key=lambda i: (round(counts[i] - exact[i], 9), -shortfall[i], i)
    )
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _fit_scaler(X_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std of each column, shape (n,); scale 1 where constant."""
    mean = X_train.mean(axis=0)  # (n,)
    scale = X_train.std(axis=0)  # (n,)
    constant = np.ptp(X_train, axis=0) == 0
    # A constant column's computed mean can miss the constant by an ulp; use the value
    # itself so the column standardises to exact zeros.
    mean[constant] = X_train[0, constant]
    scale[constant] = 1.0
    return mean, scale


def _standardise(X: np.ndarray, mean: np.ndarray, scale: np.ndarray, dtype: str) -> np.ndarray:
    """(X - mean) / scale with a leading ones column: ndarray of shape (m, n+1)."""
    _check_dtype(dtype)
    Z = ((X - mean) / scale).astype(dtype)  # (m, n)
    # ascontiguousarray with dtype: add_bias must not be able to change the dtype.
    return np.ascontiguousarray(nncore.add_bias(Z), dtype=dtype)  # (m, n+1)


def _feature_matrix(df: pd.DataFrame, columns: list) -> np.ndarray:
    for column in columns:
        dtype = df[column].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise DataError(f"column {column}: not numeric ({dtype})")
    X = df[columns].to_numpy(dtype=np.float64, na_value=np.nan)  # (m, n)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"column {columns[col]}: {int(bad[:, col].sum())} missing or non-finite values "
            f"(first at data row {row}, 0-based)"
        )
    return X


def _encode_labels(labels: pd.Series) -> tuple[list, np.ndarray]:
    """Sorted distinct labels as JSON-native values, and each row's index into them."""
    if labels.isna().any():
        raise DataError(f"column {labels.name}: {int(labels.isna().sum())} missing labels")
    try:
        classes = sorted(labels.unique().tolist())  # .tolist(): numpy scalars -> int/str
    except TypeError as error:
        raise DataError(f"column {labels.name}: labels mix types ({error})") from error
    index = {c: i for i, c in enumerate(classes)}
    return classes, labels.map(index).to_numpy(dtype=np.int64)  # (m,)


def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    fractions = tuple(float(f) for f in fractions)
    if (
        len(fractions) != len(SPLITS)
        or not all(math.isfinite(f) and f > 0 for f in fractions)
        or not math.isclose(sum(fractions), 1.0, abs_tol=1e-9)
    ):
        raise ValueError(
            f"expected {len(SPLITS)} fractions (train, validation, test), each > 0, "
            f"summing to 1; got {fractions}"
        )
    return fractions


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise ValueError(f"expected dtype in {DTYPES}, got {dtype!r}")
