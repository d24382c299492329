"""Reading data files into DataFrames, with one-line reasons when that is impossible.

`load_table` is the front door: CSV or Parquet by extension. Everything that can go
wrong before the schema sees the table (no file, empty file, ragged rows, binary junk,
duplicate header names) becomes a `DataError` whose message names the file and, where
known, the line. No pandas or pyarrow exception escapes.

CSV rows are reported by file line (the header is line 1, so data row i is usually line
i + 2). Blank lines and quoted fields spanning lines shift that; `load_table` records
the exact mapping in `df.attrs` and `source_lines` reads it back.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from flows.errors import DataError

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")

# Breakpoints [(row, line), ...] of the piecewise map row -> file line (line = row +
# line_k - row_k after breakpoint k). A few pairs, not one entry per row, because pandas
# deep-copies attrs on every derived frame.
LINES_ATTR = "nnflow_csv_lines"


def load_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (`.csv`) or Parquet (`.parquet`, `.pq`) file into a DataFrame.

    The result has a fresh RangeIndex (0-based data rows). Raises `DataError` with a
    one-line reason naming the file for anything that stops the table being read.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        known = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        raise DataError(f"{path}: unknown file type {suffix or '(none)'!r}; expected {known}")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from error
    if not raw:
        raise DataError(f"{path}: empty file (0 bytes)")
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, raw)
    return _read_parquet(path, raw)


def file_digest(path: str | Path) -> str:
    """Hex sha256 of the file's bytes, read in chunks (files may be large)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from error


def source_lines(df: pd.DataFrame, rows) -> np.ndarray | None:
    """File line numbers of the given row labels, or None if `df` did not come from a CSV.

    `rows` are index labels of `df` as `load_table` returned it (0-based data rows);
    they stay valid after filtering, since filtering keeps the labels.
    """
    breakpoints = df.attrs.get(LINES_ATTR)
    if not breakpoints:
        return None
    starts = np.array([row for row, _ in breakpoints], dtype=np.int64)
    lines = np.array([line for _, line in breakpoints], dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    k = np.searchsorted(starts, rows, side="right") - 1
    return rows - starts[k] + lines[k]


def _read_csv(path: Path, raw: bytes) -> pd.DataFrame:
    text = _decode(path, raw)
    header, breakpoints, n_rows = _scan_csv(path, text)
    try:
        # low_memory=False: infer each column's type from all of it, not per chunk.
        df = pd.read_csv(io.StringIO(text), low_memory=False)
    except Exception as error:  # any parser failure is the file's fault, say so
        raise DataError(f"{path}: cannot parse CSV ({_first_line(error)})") from error
    if list(df.columns) != header or len(df) != n_rows:
        # pandas and the csv module disagree about this file's structure (odd quoting).
        raise DataError(
            f"{path}: ambiguous CSV structure ({n_rows} rows by line scan, {len(df)} by parser)"
        )
    df.attrs[LINES_ATTR] = breakpoints
    return df


def _decode(path: Path, raw: bytes) -> str:
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise DataError(f"{path}: line {line}: binary data (NUL byte); not a CSV text file")
    try:
        return raw.decode("utf-8-sig")  # -sig: tolerate the BOM spreadsheets write
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        byte = raw[error.start]
        raise DataError(
            f"{path}: line {line}: undecodable byte 0x{byte:02x}; "
            "not UTF-8 text (binary file, or save the CSV as UTF-8)"
        ) from error


def _scan_csv(path: Path, text: str) -> tuple[list[str], list[tuple[int, int]], int]:
    """Check the CSV's structure line by line, as pandas would not say where it breaks.

    Returns the header, the row -> line breakpoints and the number of data rows.
    Blank lines are skipped, as pandas skips them.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    breakpoints: list[tuple[int, int]] = []
    n_rows = 0
    ragged: list[tuple[int, int]] = []  # (line, fields)
    previous_end = 0  # last line consumed by the reader so far
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not record:
                continue
            if header is None:
                header = record
                _check_header(path, header)
                continue
            if len(record) != len(header):
                ragged.append((start, len(record)))
            if not breakpoints or start - n_rows != breakpoints[-1][1] - breakpoints[-1][0]:
                breakpoints.append((n_rows, start))
            n_rows += 1
    except csv.Error as error:
        raise DataError(f"{path}: line {reader.line_num}: cannot parse CSV ({error})") from error
    if header is None:
        raise DataError(f"{path}: empty file (no header line)")
    if ragged:
        line, fields = ragged[0]
        more = f" (and {len(ragged) - 1} more ragged lines)" if len(ragged) > 1 else ""
        raise DataError(
            f"{path}: line {line}: {_plural(fields, 'field')}, "
            f"but the header has {len(header)}{more}"
        )
    if n_rows == 0:
        raise DataError(f"{path}: header only, no data rows")
    return header, breakpoints, n_rows


def _check_header(path: Path, header: list[str]) -> None:
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise DataError(
                f"{path}: line 1: column {position} has no name "
                "(a saved DataFrame index? write with index=False)"
            )
    _check_unique(path, header, where="line 1: ")


def _check_unique(path: Path, names: list[str], where: str = "") -> None:
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        shown = ", ".join(repr(name) for name in duplicates[:5])
        raise DataError(f"{path}: {where}duplicate column names: {shown}")


def _read_parquet(path: Path, raw: bytes) -> pd.DataFrame:
    import pyarrow as pa  # pandas' parquet engine; imported here to keep import time low
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(raw))
    except Exception as error:  # ArrowInvalid, OSError, ...: not a readable parquet file
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(error)})") from error
    # Check before pandas sees the names: to_pandas keeps duplicates but df[name] breaks.
    _check_unique(path, table.column_names)
    if table.num_columns == 0:
        raise DataError(f"{path}: no columns")
    if table.num_rows == 0:
        raise DataError(f"{path}: no data rows")
    try:
        df = table.to_pandas()
    except Exception as error:
        raise DataError(f"{path}: cannot convert Parquet data ({_first_line(error)})") from error
    return df.reset_index(drop=True)


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
