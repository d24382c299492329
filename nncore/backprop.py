"""The cost J and its gradients for one batch, written into preallocated buffers.

`thetas[l]` maps layer l to layer l+1 and has shape (s_l + 1, s_{l+1}); row 0 holds
the bias weights, which are never regularised.
"""

import numpy as np

from nncore._checks import check_thetas, check_Xb, check_Y, layer_sizes_of
from nncore._rows import map_rows, sigmoid_inplace
from nncore.cost import cross_entropy_sum, squared_weights
from nncore.layout import Layout
from nncore.workspace import Workspace, forward_logits


def evaluate(
    thetas: list[np.ndarray],
    Xb: np.ndarray,
    Y: np.ndarray,
    ws: Workspace,
    grads: list[np.ndarray],
    reg: float,
) -> float:
    """Return J for the batch (Xb, Y) and write dJ/dthetas[l] into grads[l].

    Parameters
    ----------
    thetas : list of ndarray, thetas[l] of shape (s_l + 1, s_{l+1})
    Xb : ndarray of shape (m, n + 1), C-ordered, leading column of ones
    Y : ndarray of shape (m, K)
    ws : Workspace with capacity >= m, same dtype as everything else
    grads : list of ndarray shaped like thetas, overwritten
    reg : lam / m_total, the penalty weight. For a full batch m_total = m; for a
        mini-batch it stays the training-set size, so that the batch gradient is an
        unbiased estimate of the full gradient.

    Notes
    -----
    J = (1/m) sum(-Y log h - (1 - Y) log(1 - h)) + reg/2 sum_l ||thetas[l][1:]||^2

    delta_L = h - Y holds because for sigmoid + cross-entropy
    dJ/dz = d/dz [softplus(z) - y z] = g(z) - y: the g'(z) of the output layer cancels
    against the 1/(h (1 - h)) of the log-loss. Hidden layers then use
    delta_l = (delta_{l+1} @ thetas[l][1:].T) * a_l * (1 - a_l), with g' = a (1 - a).
    The deltas here are pre-divided by m, which makes grads[l] = a_l.T @ delta_{l+1}
    directly the batch mean.
    """
    m = Xb.shape[0]
    z_out = forward_logits(thetas, Xb, ws)  # (m, K)
    J = cross_entropy_sum(z_out, Y) / m + 0.5 * reg * squared_weights(thetas)

    delta = z_out  # delta_L = (h - Y) / m, overwriting the logits
    sigmoid_inplace(delta)
    delta -= Y
    delta *= 1.0 / m
    for layer in range(len(thetas) - 1, -1, -1):
        theta = thetas[layer]
        a_prev = Xb if layer == 0 else ws.a[layer - 1][:m]  # (m, s_l + 1)
        np.matmul(a_prev.T, delta, out=grads[layer])  # (s_l + 1, s_{l+1})
        if reg:
            grads[layer][1:] += reg * theta[1:]  # row 0 (bias) is not penalised
        if layer == 0:
            break
        s = theta.shape[0] - 1
        delta_prev = ws.delta(layer, m, s)
        np.matmul(delta, theta[1:].T, out=delta_prev)  # (m, s_l), bias column dropped
        _times_sigmoid_slope(delta_prev, ws.a[layer - 1][:m, 1:])
        delta = delta_prev
    return J


def _times_sigmoid_slope(delta: np.ndarray, a: np.ndarray) -> None:
    """delta <- delta * a * (1 - a), in cache-sized row blocks."""

    def block(rows: slice) -> None:
        slope = np.subtract(1.0, a[rows])
        slope *= a[rows]
        delta[rows] *= slope

    map_rows(block, delta.shape[0], delta.shape[1])


def cost_only(thetas: list[np.ndarray], Xb: np.ndarray, Y: np.ndarray, ws: Workspace, reg: float):
    """J for the batch without gradients (forward pass and cost only)."""
    m = Xb.shape[0]
    z_out = forward_logits(thetas, Xb, ws)
    return cross_entropy_sum(z_out, Y) / m + 0.5 * reg * squared_weights(thetas)


def prepare(thetas, Xb, Y, dtype=None):
    """Validate and cast the public inputs; return (thetas, Xb, Y, layer_sizes, dtype)."""
    thetas = check_thetas(thetas)
    sizes = layer_sizes_of(thetas)
    Xb = check_Xb(Xb, sizes[0] + 1)
    Y = check_Y(Y, Xb.shape[0], sizes[-1])
    if dtype is None:
        dtype = np.result_type(*thetas, Xb, np.float32)
    thetas = [np.ascontiguousarray(theta, dtype=dtype) for theta in thetas]
    Xb = np.ascontiguousarray(Xb, dtype=dtype)
    Y = np.ascontiguousarray(Y, dtype=dtype)
    return thetas, Xb, Y, sizes, np.dtype(dtype)


def cost_and_gradients(
    thetas: list[np.ndarray], Xb: np.ndarray, Y: np.ndarray, lam: float = 1.0
) -> tuple[float, list[np.ndarray]]:
    """The regularised cross-entropy J and its gradient with respect to every theta.

    Parameters
    ----------
    thetas : list of ndarray, thetas[l] of shape (s_l + 1, s_{l+1})
    Xb : ndarray of shape (m, n + 1), the features with a leading column of ones
        (see `add_bias`; the ones are not re-checked here)
    Y : ndarray of shape (m, K), one-hot targets (K = 1 for two classes)
    lam : float, the regularisation strength; bias rows are not regularised

    Returns
    -------
    J : float
    grads : list of ndarray, grads[l] of the shape and dtype of thetas[l]

    Notes
    -----
    J = -(1/m) sum(Y log h + (1 - Y) log(1 - h)) + lam/(2m) sum_l sum(thetas[l][1:]**2),
    computed from the logits z_L (see `nncore.cost`), so it is finite for any finite z.
    """
    thetas, Xb, Y, sizes, dtype = prepare(thetas, Xb, Y)
    layout = Layout.from_layer_sizes(sizes)
    grads = layout.unpack(np.empty(layout.size, dtype=dtype))
    ws = Workspace(sizes, Xb.shape[0], dtype)
    J = evaluate(thetas, Xb, Y, ws, grads, lam / Xb.shape[0])
    return float(J), grads


def cost(thetas: list[np.ndarray], Xb: np.ndarray, Y: np.ndarray, lam: float = 1.0) -> float:
    """J alone, with the shapes and formula of `cost_and_gradients`."""
    thetas, Xb, Y, sizes, dtype = prepare(thetas, Xb, Y)
    ws = Workspace(sizes, Xb.shape[0], dtype)
    return float(cost_only(thetas, Xb, Y, ws, lam / Xb.shape[0]))
