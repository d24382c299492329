import numpy as np
import pytest

from nncore.activations import log_sigmoid, sigmoid, sigmoid_gradient


def test_sigmoid_gradient_matches_the_known_values():
    z = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    expected = [0.196612, 0.235004, 0.25, 0.235004, 0.196612]
    np.testing.assert_allclose(sigmoid_gradient(z), expected, atol=5e-7)


def test_sigmoid_gradient_equals_central_difference():
    z = np.linspace(-6, 6, 25)
    eps = 1e-6
    numeric = (sigmoid(z + eps) - sigmoid(z - eps)) / (2 * eps)
    np.testing.assert_allclose(sigmoid_gradient(z), numeric, rtol=1e-7, atol=1e-9)


def test_sigmoid_saturates_without_overflow_warnings():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        h = sigmoid(z)
    assert h[0] == 0.0 and h[2] == 0.5 and h[-1] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_dtype_and_works_in_place(dtype):
    z = np.array([[-2.0, 0.0, 3.0]], dtype=dtype)
    expected = 1 / (1 + np.exp(-z.astype(np.float64)))
    sigmoid(z, out=z)
    assert z.dtype == dtype
    np.testing.assert_allclose(z, expected, rtol=1e-6)


def test_log_sigmoid_is_exact_where_log_of_sigmoid_fails():
    # log g(-1000) = -1000 - log(1 + e^-1000) = -1000; log(sigmoid) would give -inf.
    assert log_sigmoid(np.array(-1000.0)) == -1000.0
    # log g(40) = -log(1 + e^-40) = -e^-40 (to 1e-35), which 1 - g(40) rounds away.
    np.testing.assert_allclose(log_sigmoid(np.array(40.0)), -np.exp(-40.0), rtol=1e-15)
