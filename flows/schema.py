"""The data contract, as a pandera schema built from the table's own columns.

Every column except the label is a feature: numeric and finite, no missing values. The
label is present and non-null, with at least two classes and at least
`min_rows_per_class` rows in each (a stratified train/validation/test split needs one
row per class per split). Column names are unique. Nothing else is enforced: extra
columns are features, and column order is free.

Validation is lazy: every failure is collected into a report (columns `column, row,
rule, value`; the first `REPORT_ROWS` rows per column and rule) and summarised in one
line. `row` is the file line for tables `flows.data.load_table` read from CSV (header =
line 1, so data row i is normally line i + 2) and the 0-based data row otherwise; the
summary says "line" or "row" accordingly.

This is the only module that imports pandera.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from flows.data import source_lines
from flows.errors import DataValidationError

REPORT_ROWS = 20  # report rows kept per (column, rule)
SUMMARY_ROWS = 5  # rows named in the one-line summary
REPORT_COLUMNS = ["column", "row", "rule", "value"]

# pandera's built-in check names -> ours; ours are the names given to pa.Check below.
_RULE_NAMES = {
    "not_nullable": "not_null",
    "column_in_dataframe": "column_present",
    "dataframe_column_labels_unique": "unique_column_names",
}
# Order in which one column's failures are reported: the most basic first.
_RULE_ORDER = [
    "column_present",
    "unique_column_names",
    "not_null",
    "numeric",
    "numeric_dtype",
    "finite",
    "min_classes",
    "min_rows_per_class",
]


def build_schema(
    df: pd.DataFrame, *, label: str = "label", min_rows_per_class: int = 3
) -> pa.DataFrameSchema:
    """The schema for this table: its non-label columns are the features."""
    if min_rows_per_class < 1:
        raise ValueError(f"expected min_rows_per_class >= 1, got {min_rows_per_class}")
    feature_columns = [c for c in dict.fromkeys(df.columns) if c != label]
    columns = {
        name: pa.Column(
            nullable=False,
            checks=[
                pa.Check(_is_numeric, name="numeric"),
                pa.Check(_has_numeric_dtype, name="numeric_dtype"),
                pa.Check(_is_finite, name="finite"),
            ],
        )
        for name in feature_columns
    }
    columns[label] = pa.Column(
        nullable=False,
        checks=[
            pa.Check(lambda s: s.nunique() >= 2, name="min_classes"),
            pa.Check(
                lambda s: s.map(s.value_counts()) >= min_rows_per_class,
                name="min_rows_per_class",
            ),
        ],
    )
    return pa.DataFrameSchema(columns, unique_column_names=True, strict=False, coerce=False)


def validate_table(
    df: pd.DataFrame, *, label: str = "label", source: str, min_rows_per_class: int = 3
) -> pd.DataFrame:
    """Check `df` against the data contract; return it unchanged if it holds.

    Raises `DataValidationError(summary, report)`: `summary` is one line starting with
    `source`, `report` a DataFrame with columns `column, row, rule, value`.
    """
    if label not in df.columns:
        raise DataValidationError(
            f"{source}: no label column {label!r} (columns: {_name_list(df.columns)})",
            _report([{"column": label, "row": None, "rule": "column_present", "value": None}]),
        )
    if len(df.columns) < 2:
        raise DataValidationError(
            f"{source}: no feature columns besides the label {label!r}",
            _report([{"column": None, "row": None, "rule": "has_features", "value": None}]),
        )
    schema = build_schema(df, label=label, min_rows_per_class=min_rows_per_class)
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as error:
        failures = _failures(error.failure_cases, df)
        summary = _summarise(failures, df, source, label, min_rows_per_class)
        raise DataValidationError(summary, _truncate(failures)) from None
    return df


def write_report(report: pd.DataFrame, directory: Path) -> list[Path]:
    """Write `validation_report.csv` and `validation_report.md` into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "validation_report.csv"
    md_path = directory / "validation_report.md"
    report.to_csv(csv_path, index=False, lineterminator="\n")
    lines = ["| " + " | ".join(REPORT_COLUMNS) + " |", "|" + " --- |" * len(REPORT_COLUMNS)]
    for record in report[REPORT_COLUMNS].itertuples(index=False):
        cells = ["" if pd.isna(v) else str(v).replace("|", "\\|") for v in record]
        lines.append("| " + " | ".join(cells) + " |")
    note = report.attrs.get("rows")
    text = (f"`row` is the {note}.\n\n" if note else "") + "\n".join(lines) + "\n"
    md_path.write_text(text, encoding="utf-8")
    return [csv_path, md_path]


# --- checks: vectorised, each returns a boolean Series (True = passes) or a bool ----
# pandera marks nulls as passing (ignore_na); `not_null` reports them once.


def _is_numeric(s: pd.Series) -> pd.Series:
    """Values that are numbers; in a text column, those that parse as numbers."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(False, index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Series(True, index=s.index)
    return pd.to_numeric(s, errors="coerce").notna()


def _has_numeric_dtype(s: pd.Series) -> bool:
    """A text column whose values all parse as numbers still is not a numeric column.

    Passes when `numeric` already flags values, so one problem is reported once.
    """
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return True
    return not bool(_is_numeric(s.dropna()).all())


def _is_finite(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(True, index=s.index)
    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(~np.isinf(values), index=s.index)


# --- the report and its one-line summary --------------------------------------------


def _failures(failure_cases: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """pandera's failure cases as our report rows, ordered by column then rule, all rows."""
    position = {name: i for i, name in enumerate(dict.fromkeys(df.columns))}
    records = []
    for case in failure_cases.itertuples(index=False):
        rule = _RULE_NAMES.get(case.check, case.check)
        column = case.column if case.column in position else None
        row = None if case.index is None or pd.isna(case.index) else int(case.index)
        value = case.failure_case
        if rule == "unique_column_names":
            value = ", ".join(str(v) for v in value)
        elif rule == "column_present":
            column, value = value, None
        elif rule == "min_classes":
            value = ", ".join(_show(c) for c in df[column].dropna().unique())
        elif rule == "numeric_dtype":
            value = str(df[column].dtype)
        records.append({"column": column, "row": row, "rule": rule, "value": value})
    failures = pd.DataFrame(records, columns=REPORT_COLUMNS)
    failures["_position"] = failures["column"].map(position).fillna(-1)
    failures["_order"] = failures["rule"].map(
        lambda r: _RULE_ORDER.index(r) if r in _RULE_ORDER else len(_RULE_ORDER)
    )
    failures = failures.sort_values(["_position", "_order", "row"], kind="stable")
    failures = failures.drop(columns=["_position", "_order"]).reset_index(drop=True)
    lines = source_lines(df, failures["row"].dropna().to_numpy(dtype=np.int64))
    if lines is not None:
        failures.loc[failures["row"].notna(), "row"] = lines
    failures["row"] = failures["row"].astype("Int64")
    failures["value"] = [_show(v) for v in failures["value"]]
    failures.attrs["rows"] = (
        "CSV file line (the header is line 1)" if lines is not None else "0-based data row"
    )
    return failures


def _truncate(failures: pd.DataFrame) -> pd.DataFrame:
    report = failures.groupby(["column", "rule"], sort=False, dropna=False).head(REPORT_ROWS)
    report = report.reset_index(drop=True)
    report.attrs = dict(failures.attrs)
    return report


def _summarise(
    failures: pd.DataFrame, df: pd.DataFrame, source: str, label: str, min_rows_per_class: int
) -> str:
    groups = list(failures.groupby(["column", "rule"], sort=False, dropna=False))
    (column, rule), first = groups[0]
    noun = "line" if failures.attrs["rows"].startswith("CSV") else "row"
    describe = _DESCRIBE.get(rule, _describe_other)
    text = describe(first, noun=noun, df=df, label=label, min_rows=min_rows_per_class)
    head = f"column {column}: {text}" if pd.notna(column) else text
    summary = f"{source}: {head}"
    if len(groups) > 1:
        others = {c for (c, _), _ in groups[1:] if pd.notna(c)}
        summary += f"; and {_plural(len(groups) - 1, 'more failure')}"
        if others:
            summary += f" in {_plural(len(others), 'column')}"
    return summary


def _where(group: pd.DataFrame, noun: str, with_values: bool = False) -> str:
    shown = group.head(SUMMARY_ROWS)
    if with_values:
        items = [f"{noun} {r}: {v!r}" for r, v in zip(shown["row"], shown["value"], strict=True)]
    else:
        items = [str(r) for r in shown["row"]]
    prefix = "" if with_values else (f"{noun}s " if len(group) > 1 else f"{noun} ")
    more = ", ..." if len(group) > SUMMARY_ROWS else ""
    return f"({prefix}{', '.join(items)}{more})"


def _describe_not_null(group, *, noun, df, label, min_rows):
    what = "missing label" if group["column"].iloc[0] == label else "missing value"
    return f"{_plural(len(group), what)} {_where(group, noun)}"


def _describe_numeric(group, *, noun, df, label, min_rows):
    return f"{_plural(len(group), 'non-numeric value')} {_where(group, noun, with_values=True)}"


def _describe_numeric_dtype(group, *, noun, df, label, min_rows):
    return f"numbers stored as {df[group['column'].iloc[0]].dtype} values, not a numeric column"


def _describe_finite(group, *, noun, df, label, min_rows):
    return f"{_plural(len(group), 'non-finite value')} {_where(group, noun)}"


def _describe_min_classes(group, *, noun, df, label, min_rows):
    classes = df[label].dropna().unique()
    found = f"only class {_class(classes[0])}" if len(classes) else "no classes"
    return f"{found}; need at least 2"


def _describe_min_rows(group, *, noun, df, label, min_rows):
    counts = df[label].value_counts()
    small = counts[counts < min_rows].sort_index()
    need = f"need at least {min_rows} rows per class for a stratified train/validation/test split"
    if len(small) == 1:
        return f"class {_class(small.index[0])} has {_plural(int(small.iloc[0]), 'row')}; {need}"
    listed = ", ".join(f"{_class(c)} ({_plural(int(n), 'row')})" for c, n in small.items())
    return f"classes {listed}; {need}"


def _describe_duplicates(group, *, noun, df, label, min_rows):
    return f"duplicate column names: {group['value'].iloc[0]}"


def _describe_other(group, *, noun, df, label, min_rows):
    return f"{_plural(len(group), 'failure')} of rule {group['rule'].iloc[0]}"


_DESCRIBE: dict[str, Callable[..., str]] = {
    "not_null": _describe_not_null,
    "numeric": _describe_numeric,
    "numeric_dtype": _describe_numeric_dtype,
    "finite": _describe_finite,
    "min_classes": _describe_min_classes,
    "min_rows_per_class": _describe_min_rows,
    "unique_column_names": _describe_duplicates,
}


def _report(records: list[dict]) -> pd.DataFrame:
    report = pd.DataFrame(records, columns=REPORT_COLUMNS)
    report["row"] = report["row"].astype("Int64")
    return report


def _show(value) -> str:
    """A failure value as report text: numbers as Python prints them, text as is."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str) else repr(value)


def _class(value) -> str:
    """A class label as it would be written in Python: 3, 'setosa'."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _name_list(names, limit: int = 8) -> str:
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[: limit - 1]) + f", ..., {names[-1]} ({len(names)} in all)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
