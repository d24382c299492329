"""flows.prepare: split, scaling, encoding, and the JSON description that replays them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.data import load_table
from flows.errors import DataError
from flows.prepare import (
    Prepared,
    decode_labels,
    one_hot,
    prepare_matrices,
    stratified_split,
    transform_features,
)

ARRAYS = ["Xb_train", "Y_train", "y_train", "Xb_val", "Y_val", "y_val", "Xb_test", "Y_test"]
ARRAYS += ["y_test"]
SPLITS = [("train", 0), ("val", 1), ("test", 2)]


def split_rows(prepared: Prepared, split: str) -> np.ndarray:
    """Row ids of a split, read back from the standardised `row_id` feature (column 1)."""
    Xb = getattr(prepared, f"Xb_{split}")
    mean, scale = prepared.preprocessing["mean"][0], prepared.preprocessing["scale"][0]
    return np.rint(Xb[:, 1] * scale + mean).astype(np.int64)


def test_shipped_sets_become_nncore_matrices(shipped):
    prepared = prepare_matrices(load_table(shipped.path))
    K = 1 if len(shipped.classes) == 2 else len(shipped.classes)
    n = shipped.columns - 1
    sizes = prepared.preprocessing["split"]
    assert sizes["n_train"] + sizes["n_val"] + sizes["n_test"] == shipped.rows
    for split, _ in SPLITS:
        Xb, Y, y = (getattr(prepared, f"{v}_{split}") for v in ("Xb", "Y", "y"))
        m = sizes[f"n_{split}"]
        assert Xb.shape == (m, n + 1) and Xb.dtype == np.float64
        assert Y.shape == (m, K) and Y.dtype == np.float64
        assert y.shape == (m,) and y.dtype == np.int64
        assert np.all(Xb[:, 0] == 1.0) and np.isfinite(Xb).all()
        np.testing.assert_array_equal(Y, one_hot(y, K))
    assert prepared.preprocessing["classes"] == shipped.classes


def test_same_data_and_seed_give_byte_identical_matrices(data_dir):
    df = load_table(data_dir / "digits.csv")
    first, second = prepare_matrices(df, seed=3), prepare_matrices(df.copy(), seed=3)
    for name in ARRAYS:
        assert getattr(first, name).tobytes() == getattr(second, name).tobytes(), name
    assert json.dumps(first.preprocessing) == json.dumps(second.preprocessing)
    other = prepare_matrices(df, seed=4)
    assert first.y_train.tobytes() != other.y_train.tobytes()


def test_split_is_stratified_within_one_row_and_not_ordered_by_class(labelled_frame):
    prepared = prepare_matrices(labelled_frame)
    counts = labelled_frame["label"].value_counts().sort_index().to_numpy()  # a, b, c
    for split, i in SPLITS:
        exact = counts * prepared.preprocessing["split"]["fractions"][i]
        got = np.bincount(getattr(prepared, f"y_{split}"), minlength=3)
        assert np.all(np.abs(got - exact) <= 1), (split, got, exact)
    assert not np.all(np.diff(prepared.y_train) >= 0)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    weights=st.lists(st.integers(1, 20), min_size=3, max_size=3),
    seed=st.integers(0, 2**32),
)
def test_stratified_split_partitions_rows_within_one_row_of_exact(counts, weights, seed):
    fractions = [w / sum(weights) for w in weights]
    y = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    parts = stratified_split(y, fractions, np.random.default_rng(seed))
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(len(y)))
    for part, fraction in zip(parts, fractions, strict=True):
        got = np.bincount(y[part], minlength=len(counts))
        assert np.all(np.abs(got - np.asarray(counts) * fraction) <= 1)
        assert abs(len(part) - len(y) * fraction) <= len(counts)


@settings(max_examples=25, deadline=None)
@given(counts=st.lists(st.integers(3, 30), min_size=2, max_size=5), seed=st.integers(0, 99))
def test_prepare_matrices_is_stratified_for_any_label_distribution(counts, seed):
    labels = np.repeat([f"class_{k}" for k in range(len(counts))], counts)
    df = pd.DataFrame({"x": np.arange(len(labels), dtype=float), "label": labels})
    prepared = prepare_matrices(df.sample(frac=1, random_state=seed), seed=seed)
    for split, i in SPLITS:
        got = np.bincount(getattr(prepared, f"y_{split}"), minlength=len(counts))
        exact = np.asarray(counts) * prepared.preprocessing["split"]["fractions"][i]
        assert np.all(np.abs(got - exact) <= 1)


def test_scaler_statistics_come_from_the_training_split_only(labelled_frame):
    prepared = prepare_matrices(labelled_frame)
    features = labelled_frame.drop(columns="label").to_numpy(dtype=np.float64)
    train = features[split_rows(prepared, "train")]
    np.testing.assert_array_equal(prepared.preprocessing["mean"][:3], train.mean(axis=0)[:3])
    np.testing.assert_array_equal(prepared.preprocessing["scale"][:3], train.std(axis=0)[:3])

    changed = labelled_frame.copy()
    held_out = np.concatenate([split_rows(prepared, "val"), split_rows(prepared, "test")])
    changed.loc[held_out, ["x1", "x2"]] = 1e6  # wild values outside train: no effect
    again = prepare_matrices(changed)
    assert again.preprocessing["mean"] == prepared.preprocessing["mean"]
    assert again.preprocessing["scale"] == prepared.preprocessing["scale"]
    assert again.Xb_train.tobytes() == prepared.Xb_train.tobytes()


def test_constant_columns_get_scale_one_not_a_division_by_zero(labelled_frame):
    prepared = prepare_matrices(labelled_frame)
    i = prepared.preprocessing["feature_columns"].index("constant")
    assert prepared.preprocessing["scale"][i] == 1.0
    assert prepared.preprocessing["mean"][i] == 3.25
    assert np.all(prepared.Xb_train[:, i + 1] == 0.0)


def test_preprocessing_round_trips_through_json_and_replays_training_rows(labelled_frame):
    prepared = prepare_matrices(labelled_frame, seed=11)
    preprocessing = json.loads(json.dumps(prepared.preprocessing))
    assert preprocessing == prepared.preprocessing
    assert preprocessing["feature_columns"] == ["row_id", "x1", "x2", "constant"]
    assert preprocessing["label_column"] == "label"
    assert preprocessing["classes"] == ["a", "b", "c"]
    assert preprocessing["split"] == {
        "seed": 11,
        "fractions": [0.7, 0.15, 0.15],
        "n_train": 42,
        "n_val": 9,
        "n_test": 9,
    }
    raw_train = labelled_frame.iloc[split_rows(prepared, "train")]
    # Column order and extra columns (the label too) do not matter.
    shuffled = raw_train[["label", "x2", "constant", "x1", "row_id"]].assign(note="extra")
    Xb = transform_features(shuffled, preprocessing)
    assert Xb.dtype == prepared.Xb_train.dtype
    assert Xb.tobytes() == prepared.Xb_train.tobytes()
    decoded = decode_labels(prepared.y_train, preprocessing)
    np.testing.assert_array_equal(decoded, raw_train["label"].to_numpy())


def test_integer_classes_stay_json_integers_and_sort_numerically():
    df = pd.DataFrame({"x": np.arange(30.0), "label": [10, 9, 100] * 10})
    prepared = prepare_matrices(df)
    assert prepared.preprocessing["classes"] == [9, 10, 100]
    assert all(type(c) is int for c in prepared.preprocessing["classes"])
    assert decode_labels(np.array([2, 0]), prepared.preprocessing).tolist() == [100, 9]


def test_two_classes_use_one_output_column(data_dir):
    prepared = prepare_matrices(load_table(data_dir / "breast_cancer.csv"))
    np.testing.assert_array_equal(prepared.Y_test[:, 0], prepared.y_test == 1)


def test_float32_matrices(labelled_frame):
    prepared = prepare_matrices(labelled_frame, dtype="float32")
    assert prepared.Xb_val.dtype == np.float32 and prepared.Y_val.dtype == np.float32
    Xb = transform_features(labelled_frame, prepared.preprocessing)
    assert Xb.dtype == np.float32


@pytest.mark.parametrize(
    "fractions", [(0.5, 0.5), (0.7, 0.2, 0.2), (1.0, 0.0, 0.0), (0.8, 0.3, -0.1), (0.7, 0.3)]
)
def test_bad_fractions_are_a_value_error(labelled_frame, fractions):
    with pytest.raises(ValueError, match="fractions"):
        prepare_matrices(labelled_frame, fractions=fractions)


@pytest.mark.parametrize(("argument", "value"), [("dtype", "float16"), ("seed", -1)])
def test_bad_dtype_or_seed_is_a_value_error(labelled_frame, argument, value):
    with pytest.raises(ValueError, match=argument):
        prepare_matrices(labelled_frame, **{argument: value})


def test_a_split_left_empty_is_a_data_error():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "label": [0, 1, 0, 1]})
    with pytest.raises(DataError, match="split is empty"):
        prepare_matrices(df, fractions=(0.8, 0.1, 0.1))


def test_transform_features_names_a_missing_column(labelled_frame):
    preprocessing = prepare_matrices(labelled_frame).preprocessing
    with pytest.raises(DataError, match="missing feature columns: x1, x2"):
        transform_features(labelled_frame.drop(columns=["x1", "x2"]), preprocessing)


@pytest.mark.parametrize(
    ("value", "expected"), [("big", "column x1: not numeric"), (np.nan, "column x1: 1 missing")]
)
def test_transform_features_rejects_unusable_values(labelled_frame, value, expected):
    preprocessing = prepare_matrices(labelled_frame).preprocessing
    bad = labelled_frame.astype({"x1": object})
    bad.loc[3, "x1"] = value
    with pytest.raises(DataError, match=expected):
        transform_features(bad.infer_objects(), preprocessing)


def test_one_hot():
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(one_hot([1, 0, 1], 1), [[1], [0], [1]])
    with pytest.raises(ValueError, match="values in"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="values in"):
        one_hot([2], 1)


def test_decode_labels_rejects_indices_out_of_range(labelled_frame):
    preprocessing = prepare_matrices(labelled_frame).preprocessing
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        decode_labels([0, 3], preprocessing)
