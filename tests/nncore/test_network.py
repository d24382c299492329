import numpy as np
import pytest

import nncore


def test_add_bias_prepends_a_ones_column():
    Xb = nncore.add_bias(np.array([[2, 3], [4, 5]]))
    np.testing.assert_array_equal(Xb, [[1, 2, 3], [1, 4, 5]])
    assert Xb.dtype == np.float64 and Xb.flags.c_contiguous


def test_add_bias_keeps_float32():
    assert nncore.add_bias(np.zeros((2, 2), np.float32)).dtype == np.float32


def test_add_bias_rejects_1d():
    with pytest.raises(ValueError, match=r"expected X of shape \(m, n\), got \(3,\)"):
        nncore.add_bias(np.zeros(3))


def test_init_thetas_shapes_range_and_seed():
    thetas = nncore.init_thetas([4, 5, 3], np.random.default_rng(1))
    assert [theta.shape for theta in thetas] == [(5, 5), (6, 3)]
    eps = [np.sqrt(6) / np.sqrt(4 + 5), np.sqrt(6) / np.sqrt(5 + 3)]
    for theta, bound in zip(thetas, eps, strict=True):
        assert np.all(np.abs(theta) <= bound)
    again = nncore.init_thetas([4, 5, 3], np.random.default_rng(1))
    assert nncore.thetas_sha256(thetas) == nncore.thetas_sha256(again)


def test_init_thetas_float32():
    thetas = nncore.init_thetas([2, 2, 1], np.random.default_rng(0), dtype=np.float32)
    assert all(theta.dtype == np.float32 for theta in thetas)


@pytest.mark.parametrize("sizes", [[3], [3, 0], [3, 2.5, 1], [3, True]])
def test_init_thetas_rejects_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        nncore.init_thetas(sizes, np.random.default_rng(0))


def test_init_thetas_needs_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        nncore.init_thetas([2, 1], 0)


def test_forward_returns_every_activation(make_problem):
    thetas, Xb, _ = make_problem([3, 4, 5, 2], m=6)
    activations = nncore.forward(thetas, Xb)
    assert [a.shape for a in activations] == [(6, 4), (6, 5), (6, 6), (6, 2)]
    np.testing.assert_array_equal(activations[1][:, 0], 1.0)
    np.testing.assert_array_equal(activations[2][:, 0], 1.0)
    # The same recipe, written out with hstack for reference.
    a = Xb
    for theta in thetas[:-1]:
        a = np.hstack([np.ones((6, 1)), 1 / (1 + np.exp(-(a @ theta)))])
    h = 1 / (1 + np.exp(-(a @ thetas[-1])))
    np.testing.assert_allclose(activations[-1], h, rtol=1e-14)
    np.testing.assert_allclose(nncore.predict_proba(thetas, Xb), h, rtol=1e-14)


def test_predict_argmax_for_several_classes():
    # No hidden layer: z = Xb @ theta, so the logits are the features themselves.
    theta = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    Xb = nncore.add_bias(np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0], [0.0, 0.0, 9.0]]))
    np.testing.assert_array_equal(nncore.predict([theta], Xb), [0, 1, 2])


def test_predict_thresholds_one_output_at_one_half():
    theta = np.array([[0.0], [1.0]])
    Xb = nncore.add_bias(np.array([[-2.0], [0.0], [3.0]]))
    np.testing.assert_array_equal(nncore.predict([theta], Xb), [0, 1, 1])


@pytest.mark.parametrize("function", [nncore.forward, nncore.predict_proba, nncore.predict])
def test_mismatched_columns_raise_value_error(make_problem, function):
    thetas, Xb, _ = make_problem([3, 4, 2], m=5)
    message = r"expected Xb of shape \(m, n\+1\) = \(m, 4\).*got \(5, 3\)"
    with pytest.raises(ValueError, match=message):
        function(thetas, Xb[:, 1:])


def test_thetas_that_do_not_chain_raise_value_error():
    thetas = [np.zeros((4, 3)), np.zeros((5, 2))]
    with pytest.raises(ValueError, match=r"expected thetas\[1\] of shape \(4, s_next\)"):
        nncore.predict(thetas, np.ones((2, 4)))
