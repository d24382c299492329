"""The sigmoid, each function beside its derivative.

All functions are elementwise NumPy ufunc compositions: they take arrays of any shape
and keep the input dtype (float32 stays float32).
"""

import numpy as np
from scipy.special import expit


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """g(z) = 1 / (1 + exp(-z)), without overflow warnings for large |z|.

    Parameters
    ----------
    z : ndarray of any shape
    out : ndarray of the same shape, optional; may be `z` itself (in place).
    """
    return expit(z, out=out)


def sigmoid_gradient(z: np.ndarray) -> np.ndarray:
    """g'(z) = g(z) * (1 - g(z)), the derivative of `sigmoid` at `z`.

    Notes
    -----
    Backprop never calls this: it already holds a = g(z) and uses a * (1 - a).
    """
    a = sigmoid(z)
    return a * (1.0 - a)


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """log g(z) = -log(1 + exp(-z)), finite for every finite z.

    Notes
    -----
    `np.logaddexp(0, -z)` evaluates log(1 + exp(-z)) without forming exp(-z) when it
    would overflow, so log g(-1000) = -1000 exactly instead of log(0) = -inf.
    log(1 - g(z)) = log g(-z), so this one function gives both cross-entropy terms.
    """
    return -np.logaddexp(0.0, -z)
