"""Fixtures for the nncore tests: seeded generators and small data sets."""

import numpy as np
import pytest

import nncore


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240531)


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits: (Xb of shape (1797, 65) scaled to [0, 1], Y one-hot, labels)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    Xb = nncore.add_bias(data.data / 16.0)
    Y = np.eye(10)[data.target]
    return Xb, Y, data.target


@pytest.fixture(scope="session")
def make_problem():
    """Factory: a random (thetas, Xb, Y) for the given layer sizes and m."""

    def make(layer_sizes: list[int], m: int, seed: int = 0, scale: float = 1.0):
        rng = np.random.default_rng(seed)
        thetas = [scale * theta for theta in nncore.init_thetas(layer_sizes, rng)]
        Xb = nncore.add_bias(rng.standard_normal((m, layer_sizes[0])))
        K = layer_sizes[-1]
        if K == 1:
            Y = rng.integers(0, 2, size=(m, 1)).astype(np.float64)
        else:
            Y = np.eye(K)[rng.integers(0, K, size=m)]
        return thetas, Xb, Y

    return make


@pytest.fixture(scope="session")
def relative_error():
    """||a - b|| / ||a + b|| over all entries of two lists of arrays (0 when both vanish)."""

    def error(a: list[np.ndarray], b: list[np.ndarray]) -> float:
        a = np.concatenate([x.ravel() for x in a])
        b = np.concatenate([x.ravel() for x in b])
        denominator = np.linalg.norm(a + b)
        return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)

    return error
