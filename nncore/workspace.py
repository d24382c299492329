"""Buffers for one batch size, allocated once and refilled every iteration.

Hidden activations are born with their ones column in place, so the forward pass
writes `a_prev @ theta` straight into `a[:, 1:]` and never stacks a bias column.
"""

import numpy as np

from nncore._rows import sigmoid_inplace


class Workspace:
    """Activation, logit and delta buffers for batches of up to `capacity` rows.

    A batch of m <= capacity rows uses the first m rows of every buffer; the row
    slices of C-ordered arrays stay contiguous, so BLAS writes into them directly.

    Attributes
    ----------
    a : list of ndarray, a[j] of shape (capacity, s_{j+2} + 1), column 0 all ones
        The hidden activations, one per hidden layer.
    z_out : ndarray of shape (capacity, K)
        The output logits z_L, overwritten in place by delta_L during backprop.
    """

    def __init__(self, layer_sizes: list[int], capacity: int, dtype: np.dtype) -> None:
        hidden = layer_sizes[1:-1]
        self.capacity = capacity
        self.a = []
        for s in hidden:
            a = np.empty((capacity, s + 1), dtype=dtype)  # (m, s + 1)
            a[:, 0] = 1.0
            self.a.append(a)
        self.z_out = np.empty((capacity, layer_sizes[-1]), dtype=dtype)  # (m, K)
        # Hidden deltas only live until the next layer down is computed, so two
        # buffers taking turns serve any depth.
        width = max(hidden, default=0)
        self._deltas = [np.empty(capacity * width, dtype=dtype) for _ in range(min(len(hidden), 2))]

    def delta(self, layer: int, m: int, s: int) -> np.ndarray:
        """Buffer of shape (m, s) for delta_l of hidden layer l (1-based, from the top)."""
        return self._deltas[(len(self.a) - layer) % 2][: m * s].reshape(m, s)  # (m, s_l)


def forward_logits(thetas: list[np.ndarray], Xb: np.ndarray, ws: Workspace) -> np.ndarray:
    """Run the forward pass into `ws`; return the output logits z_L, shape (m, K).

    After the call ws.a[j][:m] holds the hidden activations (with their ones column).
    The returned array is a view into `ws` and is overwritten by the next call.
    """
    m = Xb.shape[0]
    a_prev = Xb
    for theta, buf in zip(thetas[:-1], ws.a, strict=True):
        a = buf[:m]
        z = a[:, 1:]
        np.matmul(a_prev, theta, out=z)  # z_{l+1} = a_l @ thetas[l], (m, s_{l+1})
        sigmoid_inplace(z)  # a_{l+1} = g(z_{l+1}), bias column untouched
        a_prev = a
    z_out = ws.z_out[:m]
    np.matmul(a_prev, thetas[-1], out=z_out)  # (m, K)
    return z_out
