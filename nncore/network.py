"""The network itself: bias column, initial weights, forward pass, predictions.

`thetas[l]` maps layer l to layer l+1 and has shape (s_l + 1, s_{l+1}); row 0 holds
the bias weights. Layer sizes are written [n, s_2, ..., K].
"""

import itertools

import numpy as np

from nncore._checks import check_thetas, check_Xb, layer_sizes_of
from nncore._rows import sigmoid_inplace
from nncore.workspace import Workspace, forward_logits


def add_bias(X: np.ndarray) -> np.ndarray:
    """Prepend a column of ones: (m, n) -> (m, n + 1), float, C-ordered.

    Call it once, outside any training loop. `train` checks that the first column of
    its Xb is all ones; the per-call functions (`forward`, `cost_and_gradients`,
    `predict`) trust it, since they sit in hot paths.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected X of shape (m, n), got {X.shape}")
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    Xb = np.empty((X.shape[0], X.shape[1] + 1), dtype=dtype)  # (m, n + 1)
    Xb[:, 0] = 1.0
    Xb[:, 1:] = X
    return Xb


def init_thetas(
    layer_sizes: list[int], rng: np.random.Generator, dtype: type | np.dtype = np.float64
) -> list[np.ndarray]:
    """Random initial weights, uniform in [-eps, eps] with eps = sqrt(6)/sqrt(s_l + s_{l+1}).

    Parameters
    ----------
    layer_sizes : list of int, [n, s_2, ..., K], at least two entries, all >= 1
    rng : numpy.random.Generator, the only source of randomness
    dtype : float dtype of the returned arrays; values are drawn in float64 first, so
        the same rng state gives the same weights (rounded) in float32.

    Returns
    -------
    list of ndarray, thetas[l] of shape (s_l + 1, s_{l+1})
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"expected rng to be a numpy.random.Generator, got {type(rng).__name__}")
    sizes = list(layer_sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or int(s) != s or s < 1 for s in sizes):
        raise ValueError(f"expected layer_sizes [n, hidden..., K] of ints >= 1, got {sizes}")
    thetas = []
    for s, s_next in itertools.pairwise(sizes):
        eps = np.sqrt(6.0) / np.sqrt(s + s_next)
        theta = rng.uniform(-eps, eps, size=(int(s) + 1, int(s_next)))  # (s_l + 1, s_next)
        thetas.append(theta.astype(dtype, copy=False))
    return thetas


def forward(thetas: list[np.ndarray], Xb: np.ndarray) -> list[np.ndarray]:
    """All activations of the network for the inputs Xb.

    Parameters
    ----------
    thetas : list of L ndarrays, thetas[l] of shape (s_l + 1, s_{l+1})
    Xb : ndarray of shape (m, n + 1) with a leading column of ones

    Returns
    -------
    list of L + 1 ndarrays: activations[0] is Xb, activations[l] for 0 < l < L is the
    hidden activation a_l of shape (m, s_l + 1) with its ones column, and
    activations[L] is the output h of shape (m, K) (no bias column).

    Notes
    -----
    z_{l+1} = a_l @ thetas[l], a_{l+1} = g(z_{l+1}), g the sigmoid.
    """
    thetas = check_thetas(thetas)
    sizes = layer_sizes_of(thetas)
    Xb = check_Xb(Xb, sizes[0] + 1)
    dtype = np.result_type(*thetas, Xb, np.float32)
    thetas = [np.ascontiguousarray(theta, dtype=dtype) for theta in thetas]
    Xb = np.ascontiguousarray(Xb, dtype=dtype)
    ws = Workspace(sizes, Xb.shape[0], dtype)
    h = forward_logits(thetas, Xb, ws)  # (m, K), logits until the next line
    sigmoid_inplace(h)
    return [Xb, *ws.a, h]


def predict_proba(thetas: list[np.ndarray], Xb: np.ndarray) -> np.ndarray:
    """The network outputs h = a_L, ndarray of shape (m, K), each in [0, 1]."""
    return forward(thetas, Xb)[-1]


def predict(thetas: list[np.ndarray], Xb: np.ndarray) -> np.ndarray:
    """Class indices, ndarray of shape (m,) of int.

    With K >= 2 outputs the class is argmax h; with K = 1 (two classes) it is
    1 where h >= 0.5, else 0.
    """
    h = predict_proba(thetas, Xb)
    if h.shape[1] == 1:
        return (h[:, 0] >= 0.5).astype(np.intp)
    return np.argmax(h, axis=1)
