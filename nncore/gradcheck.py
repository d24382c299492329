"""Central-difference gradients, the trusted reference for backprop."""

import numpy as np

from nncore.backprop import cost_only, prepare
from nncore.workspace import Workspace


def numerical_gradients(
    thetas: list[np.ndarray],
    Xb: np.ndarray,
    Y: np.ndarray,
    lam: float = 1.0,
    eps: float = 1e-5,
) -> list[np.ndarray]:
    """dJ/dthetas[l] by central differences, one weight at a time (slow: tests only).

    Parameters
    ----------
    thetas, Xb, Y, lam : as for `cost_and_gradients`; computed in float64
    eps : float, the step

    Returns
    -------
    list of float64 ndarrays shaped like thetas.

    Notes
    -----
    dJ/dw ~ (J(w + eps) - J(w - eps)) / (2 eps), with error O(eps^2 J''') from the
    truncation and O(1e-16 / eps) from rounding; eps = 1e-5 balances the two.
    """
    thetas, Xb, Y, sizes, dtype = prepare(thetas, Xb, Y, dtype=np.float64)
    thetas = [theta.copy() for theta in thetas]  # nudged in place below
    ws = Workspace(sizes, Xb.shape[0], dtype)
    reg = lam / Xb.shape[0]
    grads = []
    for theta in thetas:
        grad = np.empty_like(theta)
        for index in np.ndindex(theta.shape):
            saved = theta[index]
            theta[index] = saved + eps
            J_plus = cost_only(thetas, Xb, Y, ws, reg)
            theta[index] = saved - eps
            J_minus = cost_only(thetas, Xb, Y, ws, reg)
            theta[index] = saved
            grad[index] = (J_plus - J_minus) / (2 * eps)
        grads.append(grad)
    return grads
