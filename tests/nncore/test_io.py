import hashlib
import pickle

import numpy as np
import pytest

import nncore


def test_round_trip_keeps_order_values_and_dtype(tmp_path, make_problem):
    thetas, _, _ = make_problem([4, 3, 5, 2], m=1)
    thetas[1] = thetas[1].astype(np.float32)
    path = tmp_path / "model"  # no suffix: the file must land exactly here
    nncore.save_thetas(path, thetas)
    assert path.exists() and not (tmp_path / "model.npz").exists()
    loaded = nncore.load_thetas(path)
    assert len(loaded) == 3
    for theta, back in zip(thetas, loaded, strict=True):
        assert back.dtype == theta.dtype
        np.testing.assert_array_equal(back, theta)
    with np.load(path) as archive:
        assert sorted(archive.files) == ["theta_1", "theta_2", "theta_3"]


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, theta_1=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match="theta_1 cannot be loaded safely"):
        nncore.load_thetas(path)


def test_a_pickle_is_never_unpickled(tmp_path):
    path = tmp_path / "thetas.npz"
    path.write_bytes(pickle.dumps([np.zeros((2, 1))]))
    with pytest.raises(ValueError, match=r"not a thetas \.npz archive"):
        nncore.load_thetas(path)


def test_a_plain_npy_is_refused(tmp_path):
    path = tmp_path / "theta.npy"
    np.save(path, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"expected an \.npz archive"):
        nncore.load_thetas(path)


@pytest.mark.parametrize(
    "arrays",
    [
        {"theta_1": np.zeros((3, 2)), "theta_3": np.zeros((3, 1))},
        {"theta_0": np.zeros((3, 2))},
        {"theta_1": np.zeros((3, 2)), "bias": np.zeros(2)},
        {"W1": np.zeros((3, 2))},
        {},
    ],
)
def test_missing_or_badly_named_keys_are_refused(tmp_path, arrays):
    path = tmp_path / "thetas.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="expected keys"):
        nncore.load_thetas(path)


def test_arrays_that_do_not_chain_are_refused(tmp_path):
    path = tmp_path / "thetas.npz"
    np.savez(path, theta_1=np.zeros((3, 2)), theta_2=np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"expected theta_2 of shape \(3, s_next\)"):
        nncore.load_thetas(path)


def test_save_refuses_non_float_arrays(tmp_path):
    with pytest.raises(ValueError, match="theta_1 as a 2-D float array"):
        nncore.save_thetas(tmp_path / "t.npz", [np.array([[1, 2]], dtype=object)])


def test_sha256_is_over_c_ordered_bytes_in_layer_order():
    a = np.arange(6.0).reshape(2, 3)
    b = np.ones((4, 1))
    expected = hashlib.sha256(a.tobytes() + b.tobytes()).hexdigest()
    assert nncore.thetas_sha256([a, b]) == expected
    assert nncore.thetas_sha256([np.asfortranarray(a), b]) == expected
    assert nncore.thetas_sha256([b, a]) != expected
