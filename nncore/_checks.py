"""Shape validation at the public boundary; the hot loops trust what passed here."""

import numpy as np


def check_thetas(thetas: list[np.ndarray]) -> list[np.ndarray]:
    """Return `thetas` as a list of 2-D float arrays whose shapes chain layer to layer."""
    if isinstance(thetas, np.ndarray) or len(thetas) == 0:
        raise ValueError("expected thetas as a non-empty list of 2-D arrays")
    arrays = [np.asarray(theta) for theta in thetas]
    for layer, theta in enumerate(arrays):
        if theta.ndim != 2 or theta.shape[0] < 2 or theta.shape[1] < 1:
            raise ValueError(
                f"expected thetas[{layer}] of shape (s_l+1, s_next) with s_l, s_next >= 1, "
                f"got {theta.shape}"
            )
        if not np.issubdtype(theta.dtype, np.floating):
            raise ValueError(f"expected thetas[{layer}] of a float dtype, got {theta.dtype}")
        if layer > 0 and theta.shape[0] != arrays[layer - 1].shape[1] + 1:
            previous = arrays[layer - 1].shape
            raise ValueError(
                f"expected thetas[{layer}] of shape ({previous[1] + 1}, s_next) "
                f"to follow thetas[{layer - 1}] of shape {previous}, got {theta.shape}"
            )
    return arrays


def layer_sizes_of(thetas: list[np.ndarray]) -> list[int]:
    """[n, s_2, ..., K] read from checked thetas."""
    return [thetas[0].shape[0] - 1] + [theta.shape[1] for theta in thetas]


def check_Xb(Xb: np.ndarray, n_plus_1: int, name: str = "Xb") -> np.ndarray:
    Xb = np.asarray(Xb)
    if Xb.ndim != 2 or Xb.shape[1] != n_plus_1:
        raise ValueError(
            f"expected {name} of shape (m, n+1) = (m, {n_plus_1}) to match thetas[0], "
            f"got {Xb.shape}"
        )
    if not (np.issubdtype(Xb.dtype, np.floating) or np.issubdtype(Xb.dtype, np.integer)):
        raise ValueError(f"expected {name} of a numeric dtype, got {Xb.dtype}")
    return Xb


def check_Y(Y: np.ndarray, m: int, K: int, name: str = "Y") -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape != (m, K):
        raise ValueError(
            f"expected {name} of shape (m, K) = ({m}, {K}) to match the rows of X and the "
            f"columns of thetas[-1], got {Y.shape}"
        )
    if not (np.issubdtype(Y.dtype, np.number) or Y.dtype == np.bool_):
        raise ValueError(f"expected {name} of a numeric dtype, got {Y.dtype}")
    return Y
