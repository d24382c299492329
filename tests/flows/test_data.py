"""flows.data: reading tables, file digests, CSV line numbers; the shipped files."""

from __future__ import annotations

import hashlib
import importlib.util
import re

import numpy as np
import pandas as pd
import pytest

from flows.data import file_digest, load_table, source_lines
from flows.errors import DataError


def test_shipped_files_load_with_their_documented_shape(shipped):
    df = load_table(shipped.path)
    assert df.shape == (shipped.rows, shipped.columns)
    assert df.columns[-1] == "label"
    assert sorted(df["label"].unique().tolist()) == shipped.classes


def test_digits_pixels_are_integers(data_dir):
    df = load_table(data_dir / "digits.csv")
    assert list(df.columns[:64]) == [f"pixel_{i}" for i in range(64)]
    assert all(pd.api.types.is_integer_dtype(t) for t in df.dtypes)


def test_readme_hashes_match_the_shipped_files(data_dir, shipped_names):
    readme = (data_dir / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| `(\w+\.csv)` \|.*\| `([0-9a-f]{64})` \|", readme))
    assert sorted(listed) == shipped_names
    for name, digest in listed.items():
        assert file_digest(data_dir / name) == digest, name


def test_make_datasets_regenerates_the_shipped_files_byte_for_byte(tmp_path, data_dir):
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("make_datasets", data_dir / "make_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(tmp_path)
    assert len(written) == 3
    for path in written:
        assert path.read_bytes() == (data_dir / path.name).read_bytes(), path.name


def test_file_digest_is_sha256_of_the_bytes(write_file):
    content = bytes(range(256)) * 5000  # > 1 MiB: more than one read
    path = write_file("blob.csv", content)
    assert file_digest(path) == hashlib.sha256(content).hexdigest()
    assert file_digest(str(path)) == file_digest(path)


def test_file_digest_of_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: cannot read"):
        file_digest(tmp_path / "nope.csv")


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_round_trip(tmp_path, suffix):
    df = pd.DataFrame({"a": [1.5, 2.0, -3.0], "b": [1, 2, 3], "label": ["x", "y", "x"]})
    path = tmp_path / f"table{suffix}"
    df.to_parquet(path)
    loaded = load_table(path)
    pd.testing.assert_frame_equal(loaded, df, check_dtype=False)
    assert source_lines(loaded, [0, 1]) is None  # Parquet rows have no file lines


def test_parquet_with_a_custom_index_gets_a_fresh_range_index(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2.0], "label": [0, 1]}, index=[10, 20])
    df.to_parquet(tmp_path / "t.parquet")
    assert list(load_table(tmp_path / "t.parquet").index) == [0, 1]


def test_parquet_with_no_rows_is_rejected(tmp_path):
    pd.DataFrame({"a": pd.Series([], dtype=float), "label": []}).to_parquet(tmp_path / "e.pq")
    with pytest.raises(DataError, match=r"e\.pq: no data rows"):
        load_table(tmp_path / "e.pq")


def test_csv_rows_map_to_file_lines_across_blank_lines_and_quoted_newlines(write_file):
    text = 'a,b,label\n1,2,x\n\n3,"4\n5",y\n6,7,z\n'
    df = load_table(write_file("t.csv", text))
    assert len(df) == 3
    np.testing.assert_array_equal(source_lines(df, [0, 1, 2]), [2, 4, 6])
    # Row labels survive filtering, so lines still match after dropping rows.
    np.testing.assert_array_equal(source_lines(df.iloc[[2]], df.index[[2]]), [6])


def test_plain_csv_data_row_i_is_line_i_plus_2(write_file):
    df = load_table(write_file("t.csv", "a,label\n" + "".join(f"{i},0\n" for i in range(50))))
    np.testing.assert_array_equal(source_lines(df, np.arange(50)), np.arange(50) + 2)


def test_byte_order_mark_and_crlf_are_accepted(write_file):
    df = load_table(write_file("t.csv", b"\xef\xbb\xbfa,label\r\n1,x\r\n2,y\r\n"))
    assert list(df.columns) == ["a", "label"]
    assert df["label"].tolist() == ["x", "y"]
