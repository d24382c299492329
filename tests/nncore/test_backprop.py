"""Backprop against central differences over random architectures."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nncore


@st.composite
def problems(draw):
    n = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    K = draw(st.sampled_from([1, 2, 3, 4]))
    m = draw(st.integers(1, 8))
    lam = draw(st.sampled_from([0.0, 0.3, 1.0, 3.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    return [n, *hidden, K], m, lam, seed


@settings(max_examples=60, deadline=None)
@given(problems())
def test_gradients_equal_central_differences(make_problem, relative_error, problem):
    layer_sizes, m, lam, seed = problem
    thetas, Xb, Y = make_problem(layer_sizes, m, seed=seed)
    _, grads = nncore.cost_and_gradients(thetas, Xb, Y, lam=lam)
    numeric = nncore.numerical_gradients(thetas, Xb, Y, lam=lam)
    assert relative_error(grads, numeric) < 1e-7


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_gradients_of_a_three_hidden_layer_network(make_problem, relative_error, K, lam):
    thetas, Xb, Y = make_problem([4, 5, 3, 4, K], m=9, seed=K)
    _, grads = nncore.cost_and_gradients(thetas, Xb, Y, lam=lam)
    assert relative_error(grads, nncore.numerical_gradients(thetas, Xb, Y, lam=lam)) < 1e-7


def test_gradients_do_not_depend_on_row_blocking(make_problem, monkeypatch):
    # Large m crosses the row-block and thread thresholds; the answer must not change.
    thetas, Xb, Y = make_problem([6, 40, 3], m=30000, seed=3)
    J, grads = nncore.cost_and_gradients(thetas, Xb, Y)
    monkeypatch.setattr("nncore._rows.PARALLEL_MIN_ELEMENTS", 10**12)  # serial
    J_serial, grads_serial = nncore.cost_and_gradients(thetas, Xb, Y)
    assert J == J_serial
    for g, g_serial in zip(grads, grads_serial, strict=True):
        np.testing.assert_array_equal(g, g_serial)


def test_caller_arrays_are_left_alone(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2], m=5)
    copies = [theta.copy() for theta in thetas], Xb.copy(), Y.copy()
    nncore.cost_and_gradients(thetas, Xb, Y)
    nncore.numerical_gradients(thetas, Xb, Y)
    for theta, copy in zip(thetas, copies[0], strict=True):
        np.testing.assert_array_equal(theta, copy)
    np.testing.assert_array_equal(Xb, copies[1])
    np.testing.assert_array_equal(Y, copies[2])


@pytest.mark.parametrize(
    ("X_cols", "Y_shape", "message"),
    [
        (2, (5, 2), r"expected Xb of shape \(m, n\+1\) = \(m, 4\) .*got \(5, 2\)"),
        (4, (4, 2), r"expected Y of shape \(m, K\) = \(5, 2\) .*got \(4, 2\)"),
        (4, (5, 3), r"expected Y of shape \(m, K\) = \(5, 2\) .*got \(5, 3\)"),
        (4, (5,), r"expected Y of shape \(m, K\) = \(5, 2\) .*got \(5,\)"),
    ],
)
def test_shape_errors_raise_value_error(make_problem, X_cols, Y_shape, message):
    thetas, Xb, _ = make_problem([3, 4, 2], m=5)
    with pytest.raises(ValueError, match=message):
        nncore.cost_and_gradients(thetas, Xb[:, :X_cols], np.zeros(Y_shape))
    with pytest.raises(ValueError, match=message):
        nncore.numerical_gradients(thetas, Xb[:, :X_cols], np.zeros(Y_shape))
