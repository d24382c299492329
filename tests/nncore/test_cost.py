"""The cost J, from a hand-worked network and from exact closed forms."""

from decimal import Decimal, getcontext

import numpy as np
import pytest

import nncore
from nncore.backprop import cost

# The 2-2-1 network worked by hand, one example x = (1, 2), y = 1, lam = 1:
#   Xb = [1, 1, 2]
#   z2 = Xb @ THETA_1 = [0.1 + 0.3 - 1.0, -0.2 + 0.4 + 1.2] = [-0.6, 1.4]
#   a2 = [1, g(-0.6), g(1.4)] = [1, 0.3543436938, 0.8021838886]
#   z3 = 0.2 - 0.7 * 0.3543436938 + 0.5 * 0.8021838886 = 0.3530513586
#   h  = g(0.3530513586) = 0.5873573293
#   cross-entropy = -log(0.5873573293) = 0.5321219061
#   penalty = 1/(2*1) * (0.3² + 0.4² + 0.5² + 0.6² + 0.7² + 0.5²) = 0.5 * 1.6 = 0.8
#   J = 1.3321219061
# Backprop:
#   delta3 = h - y = -0.4126426707
#   grad2  = a2 * delta3 + lam * [0, -0.7, 0.5] = [-0.4126426707, -0.8462173281, 0.1689846979]
#   delta2 = delta3 * [-0.7, 0.5] * a2[1:] * (1 - a2[1:]) = [0.0660842980, -0.0327400799]
#   grad1  = Xb.T @ delta2 + lam * THETA_1 with row 0 zeroed
#          = [[0.0660842980, -0.0327400799],
#             [0.0660842980 + 0.3, -0.0327400799 + 0.4],
#             [0.1321685960 - 0.5, -0.0654801599 + 0.6]]
THETA_1 = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
THETA_2 = np.array([[0.2], [-0.7], [0.5]])
XB = np.array([[1.0, 1.0, 2.0]])
Y = np.array([[1.0]])


def test_hand_worked_2_2_1_cost_and_gradients():
    J, grads = nncore.cost_and_gradients([THETA_1, THETA_2], XB, Y, lam=1.0)
    assert J == pytest.approx(1.3321219061194673, rel=1e-14)
    grad2 = [-0.4126426707, -0.8462173281, 0.1689846979]
    grad1 = [
        [0.0660842980, -0.0327400799],
        [0.3660842980, 0.3672599201],
        [-0.3678314040, 0.5345198401],
    ]
    np.testing.assert_allclose(grads[1][:, 0], grad2, atol=1e-10)
    np.testing.assert_allclose(grads[0], grad1, atol=1e-10)


def test_hand_worked_2_2_1_without_regularisation():
    J, _ = nncore.cost_and_gradients([THETA_1, THETA_2], XB, Y, lam=0.0)
    assert J == pytest.approx(0.5321219061194672, rel=1e-14)


def test_lam_defaults_to_one():
    assert cost([THETA_1, THETA_2], XB, Y) == cost([THETA_1, THETA_2], XB, Y, lam=1.0)


def _exact_term(z: float, y: int) -> Decimal:
    """-y log g(z) - (1-y) log(1-g(z)) to 50 digits: log(1 + e^{-z}) or log(1 + e^{z})."""
    getcontext().prec = 50
    signed = Decimal(-z if y == 1 else z)
    return (1 + signed.exp()).ln()


@pytest.mark.parametrize("z", [-800.0, -40.0, -1.0, 0.0, 1.0, 36.0, 40.0, 800.0])
@pytest.mark.parametrize("y", [0, 1])
def test_saturated_logits_give_the_exact_finite_cost(z, y):
    # No hidden layer and theta = [0, 1]: the output logit is exactly the feature z.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        J = cost([np.array([[0.0], [1.0]])], np.array([[1.0, z]]), np.array([[float(y)]]), lam=0)
    assert np.isfinite(J)
    assert J == pytest.approx(float(_exact_term(z, y)), rel=1e-15, abs=0)


def test_saturated_network_has_finite_cost_and_gradients(make_problem):
    thetas, Xb, Y = make_problem([5, 4, 3], m=20, scale=1e4)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        J, grads = nncore.cost_and_gradients(thetas, Xb, Y, lam=1.0)
    assert np.isfinite(J) and J > 1.0
    assert all(np.all(np.isfinite(grad)) for grad in grads)


def test_bias_rows_are_not_regularised(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2, 2], m=7)
    _, grads_0 = nncore.cost_and_gradients(thetas, Xb, Y, lam=0.0)
    _, grads_5 = nncore.cost_and_gradients(thetas, Xb, Y, lam=5.0)
    for theta, g0, g5 in zip(thetas, grads_0, grads_5, strict=True):
        np.testing.assert_array_equal(g5[0], g0[0])
        np.testing.assert_allclose(g5[1:] - g0[1:], 5.0 / 7 * theta[1:], rtol=1e-10, atol=1e-15)
    # And the penalty ignores them: scaling the bias rows changes J only through the data.
    J_0 = cost(thetas, Xb, Y, lam=0.0)
    J_5 = cost(thetas, Xb, Y, lam=5.0)
    penalty = 5.0 / (2 * 7) * sum(np.sum(theta[1:] ** 2) for theta in thetas)
    assert J_5 - J_0 == pytest.approx(penalty, rel=1e-12)


def test_float32_inputs_give_float32_gradients(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2], m=5)
    J64, grads64 = nncore.cost_and_gradients(thetas, Xb, Y)
    thetas32 = [theta.astype(np.float32) for theta in thetas]
    J32, grads32 = nncore.cost_and_gradients(thetas32, Xb.astype(np.float32), Y)
    assert all(grad.dtype == np.float32 for grad in grads32)
    assert J32 == pytest.approx(J64, rel=1e-5)
    for g32, g64 in zip(grads32, grads64, strict=True):
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-6)
