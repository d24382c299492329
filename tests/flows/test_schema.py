"""flows.schema: the data contract, its report and one-line summary; the front door
(load_table then validate_table) on malformed files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from flows.data import load_table
from flows.errors import DataError, DataValidationError
from flows.schema import REPORT_COLUMNS, REPORT_ROWS, build_schema, validate_table, write_report

HEADER = "a,b,label\n"
# Two classes, four rows each: data row i is file line i + 2.
GOOD_ROWS = ["1,2.5,0", "2,3.5,1", "3,4.5,0", "4,5.5,1", "5,6.5,0", "6,7.5,1", "7,8.5,0", "8,9,1"]


def table(*replacements: tuple[int, str], header: str = HEADER) -> str:
    """GOOD_ROWS as CSV text, with (data row index, new text) replacements."""
    rows = list(GOOD_ROWS)
    for i, text in replacements:
        rows[i] = text
    return header + "".join(row + "\n" for row in rows)


def read_and_validate(path):
    """What the pipeline does at its front door."""
    return validate_table(load_table(path), source=str(path))


# (case, file name, content or None for no file, error class, text the message must hold)
MALFORMED = [
    ("missing file", "gone.csv", None, DataError, "no such file"),
    ("directory", "folder.csv", "DIR", DataError, "is a directory"),
    ("empty file", "empty.csv", b"", DataError, "empty file (0 bytes)"),
    ("blank lines only", "blank.csv", "\n\n", DataError, "empty file (no header line)"),
    ("header only", "header.csv", HEADER, DataError, "header only, no data rows"),
    ("unknown extension", "data.txt", table(), DataError, "unknown file type '.txt'"),
    (
        "missing label column",
        "nolabel.csv",
        table(header="a,b,target\n"),
        DataValidationError,
        "no label column 'label' (columns: a, b, target)",
    ),
    (
        "NaN",
        "nan.csv",
        table((2, "3,,0")),
        DataValidationError,
        "column b: 1 missing value (line 4)",
    ),
    (
        "inf",
        "inf.csv",
        table((1, "inf,3.5,1"), (5, "6,-inf,1")),
        DataValidationError,
        "column a: 1 non-finite value (line 3); and 1 more failure in 1 column",
    ),
    (
        "text in a numeric column",
        "text.csv",
        table((3, "4,five,1")),
        DataValidationError,
        "column b: 1 non-numeric value (line 5: 'five')",
    ),
    (
        "one class",
        "oneclass.csv",
        HEADER + "".join(f"{i},{i}.5,7\n" for i in range(8)),
        DataValidationError,
        "column label: only class 7; need at least 2",
    ),
    (
        "missing label values",
        "nolabels.csv",
        table((0, "1,2.5,"), (4, "5,6.5,")),
        DataValidationError,
        "column label: 2 missing labels (lines 2, 6)",
    ),
    (
        "too few rows per class",
        "fewrows.csv",
        table((1, "2,3.5,0"), (3, "4,5.5,0"), (5, "6,7.5,0")),
        DataValidationError,
        "column label: class 1 has 1 row; need at least 3 rows per class",
    ),
    (
        "duplicate columns",
        "dup.csv",
        table(header="a,a,label\n"),
        DataError,
        "line 1: duplicate column names: 'a'",
    ),
    ("unnamed column", "index.csv", table(header=",b,label\n"), DataError, "column 1 has no name"),
    (
        "ragged rows",
        "ragged.csv",
        table((2, "3,4.5,0,9"), (6, "7")),
        DataError,
        "line 4: 4 fields, but the header has 3 (and 1 more ragged lines)",
    ),
    ("binary junk", "junk.csv", bytes(range(256)) * 4, DataError, "line 1: binary data (NUL"),
    (
        "undecodable bytes",
        "image.csv",
        b"a,b,label\n1,2,0\n\x89PNG\r\n\x1a\n",
        DataError,
        "line 3: undecodable byte 0x89",
    ),
    ("junk parquet", "junk.parquet", b"PAR1 not really", DataError, "not a readable Parquet"),
]


@pytest.mark.parametrize(
    ("name", "content", "error_class", "expected"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_inputs_fail_with_one_line_naming_file_and_place(
    tmp_path, write_file, name, content, error_class, expected
):
    path = tmp_path / name
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        write_file(name, content)
    with pytest.raises(DataError) as caught:
        read_and_validate(path)
    message = str(caught.value)
    assert type(caught.value) is error_class
    assert message.startswith(f"{path}: "), message
    assert expected in message, message
    assert "\n" not in message
    if error_class is DataValidationError:
        assert list(caught.value.report.columns) == REPORT_COLUMNS
        assert len(caught.value.report) > 0


def test_schema_accepts_every_shipped_file(shipped):
    df = load_table(shipped.path)
    assert validate_table(df, source=str(shipped.path)) is df


def test_build_schema_makes_every_other_column_a_feature():
    df = pd.DataFrame({"x": [1.0], "y": [2], "label": ["a"]})
    schema = build_schema(df)
    assert isinstance(schema, pa.DataFrameSchema)
    assert list(schema.columns) == ["x", "y", "label"]
    assert schema.unique_column_names and not schema.strict


def test_every_failure_is_collected_in_one_report_and_one_line(write_file):
    path = write_file("many.csv", table((0, ",2.5,0"), (1, "2,inf,1"), (2, "x,4.5,")))
    with pytest.raises(DataValidationError) as caught:
        read_and_validate(path)
    report = caught.value.report
    assert set(zip(report["column"], report["rule"], strict=True)) == {
        ("a", "not_null"),
        ("a", "numeric"),
        ("b", "finite"),
        ("label", "not_null"),
    }
    assert str(caught.value) == (
        f"{path}: column a: 1 missing value (line 2); and 3 more failures in 3 columns"
    )


def test_report_keeps_the_first_rows_per_rule_and_the_summary_counts_all(write_file):
    rows = [f"{i if i % 2 else ''},1.5,{i % 2}" for i in range(100)]  # 50 missing a's
    path = write_file("gappy.csv", HEADER + "\n".join(rows) + "\n")
    with pytest.raises(DataValidationError) as caught:
        read_and_validate(path)
    report = caught.value.report
    assert len(report) == REPORT_ROWS
    assert report["row"].tolist() == [2 + 2 * i for i in range(REPORT_ROWS)]  # file lines
    assert str(caught.value) == f"{path}: column a: 50 missing values (lines 2, 4, 6, 8, 10, ...)"


def test_rows_of_a_dataframe_not_read_from_csv_are_0_based():
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0], "label": [0, 1] * 3})
    with pytest.raises(DataValidationError) as caught:
        validate_table(df, source="x.parquet")
    assert str(caught.value) == "x.parquet: column a: 1 missing value (row 2)"
    assert caught.value.report["row"].tolist() == [2]
    assert caught.value.report.attrs["rows"] == "0-based data row"


def test_duplicate_columns_in_a_dataframe_are_reported():
    df = pd.DataFrame([[1, 2, i % 2] for i in range(6)], columns=["a", "a", "label"])
    with pytest.raises(DataValidationError, match=r"^t\.pq: duplicate column names: a$"):
        validate_table(df, source="t.pq")


def test_numbers_stored_as_text_are_not_a_numeric_column():
    df = pd.DataFrame({"a": ["1", "2", "3", "4", "5", "6"], "label": [0, 1] * 3})
    with pytest.raises(DataValidationError, match="column a: numbers stored as str"):
        validate_table(df, source="t.pq")


def test_label_alone_is_not_a_data_set():
    with pytest.raises(DataValidationError, match="no feature columns besides the label"):
        validate_table(pd.DataFrame({"label": [0, 1, 0, 1, 0, 1]}), source="t.pq")


def test_label_column_and_min_rows_per_class_are_configurable():
    df = pd.DataFrame({"a": range(4), "species": ["x", "y", "x", "y"]})
    assert validate_table(df, label="species", source="t", min_rows_per_class=2) is df
    with pytest.raises(
        DataValidationError, match=r"classes 'x' \(2 rows\), 'y' \(2 rows\); need at least 3"
    ):
        validate_table(df, label="species", source="t")


def test_write_report_writes_csv_and_markdown(tmp_path, write_file):
    path = write_file("bad.csv", table((3, "4,five|six,1")))
    with pytest.raises(DataValidationError) as caught:
        read_and_validate(path)
    csv_path, md_path = write_report(caught.value.report, tmp_path / "out")
    assert csv_path.name == "validation_report.csv" and md_path.name == "validation_report.md"
    assert csv_path.read_text() == "column,row,rule,value\nb,5,numeric,five|six\n"
    assert md_path.read_text() == (
        "`row` is the CSV file line (the header is line 1).\n\n"
        "| column | row | rule | value |\n"
        "| --- | --- | --- | --- |\n"
        "| b | 5 | numeric | five\\|six |\n"
    )
