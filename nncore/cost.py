"""The cross-entropy cost, computed from the logits so that it never takes log(0).

Notes
-----
With h = g(z), the per-element cross-entropy is

    -y log g(z) - (1 - y) log(1 - g(z)) = softplus(z) - y z,

because log g(z) = -softplus(-z), log(1 - g(z)) = -softplus(z) and
softplus(-z) = softplus(z) - z. Splitting softplus(z) = max(z, 0) + log(1 + exp(-|z|)):

    term = [max(z, 0) - y z] + log(1 + exp(-|z|)).

For y in {0, 1} the bracket is exactly 0 or |z| (no cancellation), and the last part
is log1p(exp(-|z|)) (what `np.logaddexp(0, -|z|)` computes, in two vectorised passes),
accurate to the last bit because exp(-|z|) <= 1 never overflows.
So a saturated output costs exactly what it should: z = -40, y = 1 costs
40 + 4.2e-18, z = 40, y = 1 costs 4.2e-18 (not 0, and never inf).
"""

import numpy as np

from nncore._rows import map_rows


def cross_entropy_sum(z: np.ndarray, Y: np.ndarray) -> float:
    """sum over all elements of -Y log g(z) - (1 - Y) log(1 - g(z)).

    Parameters
    ----------
    z : ndarray of shape (m, K), the output logits z_L
    Y : ndarray of shape (m, K), targets in [0, 1]

    Returns
    -------
    float, not divided by m.
    """

    def block(rows: slice) -> float:
        zb, yb = z[rows], Y[rows]
        tail = np.abs(zb)
        np.negative(tail, out=tail)
        np.exp(tail, out=tail)  # in (0, 1]: no overflow, underflow to 0 is harmless
        np.log1p(tail, out=tail)  # log(1 + exp(-|z|)), as np.logaddexp(0, -|z|) but SIMD
        head = np.maximum(zb, 0.0)
        yz = np.multiply(yb, zb)
        head -= yz  # max(z, 0) - y z
        head += tail
        return float(head.sum(dtype=np.float64))

    # Partial sums are added in block order, so the total does not depend on threads.
    return sum(map_rows(block, z.shape[0], z.shape[1]))


def squared_weights(thetas: list[np.ndarray]) -> float:
    """sum_l sum(thetas[l][1:] ** 2): every weight except the bias rows."""
    return sum(float(np.vdot(theta[1:], theta[1:])) for theta in thetas)
