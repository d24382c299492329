"""Training: it learns, it stops for the documented reasons, it is reproducible."""

import warnings

import numpy as np
import pytest

import nncore
from nncore import ConvergenceWarning, TrainConfig, TrainingDiverged
from nncore.backprop import cost

OPTIMIZERS = ["gd", "lbfgs", "adam"]


def quietly(*args, **kwargs) -> nncore.TrainResult:
    """train() with ConvergenceWarning silenced, for tests about something else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return nncore.train(*args, **kwargs)


def test_xor_is_learnt():
    Xb = nncore.add_bias(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]))
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    thetas = nncore.init_thetas([2, 3, 1], np.random.default_rng(0))
    result = quietly(thetas, Xb, Y, TrainConfig(lam=0.0, max_iter=500, tol=1e-10))
    np.testing.assert_array_equal(nncore.predict(result.thetas, Xb), [0, 1, 1, 0])
    assert result.cost_history[-1] < 0.05


def test_digits_reach_97_percent_with_lbfgs_in_100_iterations(digits):
    Xb, Y, labels = digits
    thetas = nncore.init_thetas([64, 25, 10], np.random.default_rng(0))
    result = quietly(thetas, Xb, Y, TrainConfig(optimizer="lbfgs", lam=1.0, max_iter=100))
    assert result.n_iter <= 100
    assert np.mean(nncore.predict(result.thetas, Xb) == labels) >= 0.97


def test_cost_history_is_the_training_cost_after_each_iteration(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2], m=20)
    for optimizer in ["gd", "lbfgs"]:
        result = quietly(thetas, Xb, Y, TrainConfig(optimizer=optimizer, max_iter=5, tol=0))
        assert result.cost_history.dtype == np.float64
        assert result.cost_history.shape == (result.n_iter,)
        assert result.cost_history[-1] == pytest.approx(cost(result.thetas, Xb, Y), rel=1e-12)


def test_gd_cost_never_increases_with_a_small_step(make_problem):
    thetas, Xb, Y = make_problem([4, 6, 3], m=40, seed=5)
    config = TrainConfig(optimizer="gd", learning_rate=0.5, max_iter=200, tol=0.0)
    result = quietly(thetas, Xb, Y, config)
    assert result.n_iter == 200
    assert np.all(np.diff(result.cost_history) <= 0)
    assert result.cost_history[-1] < result.cost_history[0]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_same_seed_gives_bit_identical_thetas(digits, optimizer):
    Xb, Y, _ = digits
    thetas = nncore.init_thetas([64, 10, 10], np.random.default_rng(7))
    config = TrainConfig(
        optimizer=optimizer,
        learning_rate=0.05 if optimizer == "adam" else 1.0,
        max_iter=15,
        batch_size=128,
        seed=3,
    )
    first = quietly(thetas, Xb, Y, config)
    second = quietly(thetas, Xb, Y, config)
    assert nncore.thetas_sha256(first.thetas) == nncore.thetas_sha256(second.thetas)
    np.testing.assert_array_equal(first.cost_history, second.cost_history)


def test_adam_shuffling_depends_on_the_seed(digits):
    Xb, Y, _ = digits
    thetas = nncore.init_thetas([64, 10, 10], np.random.default_rng(7))
    results = [
        quietly(
            thetas,
            Xb,
            Y,
            TrainConfig("adam", learning_rate=0.05, max_iter=2, batch_size=100, seed=seed),
        )
        for seed in (0, 1)
    ]
    assert nncore.thetas_sha256(results[0].thetas) != nncore.thetas_sha256(results[1].thetas)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_callers_thetas_are_not_modified(make_problem, optimizer):
    thetas, Xb, Y = make_problem([3, 4, 2], m=10)
    before = nncore.thetas_sha256(thetas)
    quietly(thetas, Xb, Y, TrainConfig(optimizer=optimizer, max_iter=3, learning_rate=0.1))
    assert nncore.thetas_sha256(thetas) == before


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_callback_sees_every_iteration(make_problem, optimizer):
    thetas, Xb, Y = make_problem([3, 4, 2], m=10)
    seen = []
    result = quietly(
        thetas,
        Xb,
        Y,
        TrainConfig(optimizer=optimizer, max_iter=6, tol=0, learning_rate=0.1),
        callback=lambda iteration, J: seen.append((iteration, J)),
    )
    assert [i for i, _ in seen] == list(range(1, result.n_iter + 1))
    np.testing.assert_array_equal([J for _, J in seen], result.cost_history)


def test_huge_learning_rate_raises_training_diverged(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2], m=10)
    with pytest.raises(TrainingDiverged, match="iteration 1") as caught:
        nncore.train(thetas, Xb, Y, TrainConfig(optimizer="gd", learning_rate=1e200))
    assert caught.value.iteration == 1
    assert isinstance(caught.value, RuntimeError)


def test_a_rising_gd_cost_is_never_called_converged(make_problem):
    """An overshooting step makes J grow without bound (it stays finite: the cost is
    linear in saturated logits); gd must not stop on that as if it had converged."""
    thetas, Xb, Y = make_problem([3, 4, 2], m=10)
    config = TrainConfig(optimizer="gd", learning_rate=1e3, max_iter=20)
    with pytest.warns(ConvergenceWarning):
        result = nncore.train(thetas, Xb, Y, config)
    assert not result.converged and result.n_iter == 20
    assert result.cost_history[-1] > result.cost_history[0]


def test_adam_divergence_raises_too(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2], m=10)
    with pytest.raises(TrainingDiverged):
        nncore.train(thetas, Xb, Y, TrainConfig(optimizer="adam", learning_rate=1e200, max_iter=5))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_max_iter_warns_and_reports_not_converged(make_problem, optimizer):
    thetas, Xb, Y = make_problem([3, 4, 2], m=30)
    with pytest.warns(ConvergenceWarning, match="3 iterations"):
        result = nncore.train(
            thetas, Xb, Y, TrainConfig(optimizer=optimizer, max_iter=3, tol=0, learning_rate=0.1)
        )
    assert result.n_iter == 3 and not result.converged and result.stop_reason == "max_iter"
    assert issubclass(ConvergenceWarning, UserWarning)


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
def test_a_plateau_stops_by_tol_without_warning(make_problem, optimizer):
    thetas, Xb, Y = make_problem([3, 2, 2], m=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = nncore.train(
            thetas, Xb, Y, TrainConfig(optimizer=optimizer, lam=3.0, tol=1e-4, max_iter=5000)
        )
    assert result.converged and result.stop_reason == "tol"
    assert result.n_iter < 5000


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_float32_trains_in_float32(digits, optimizer):
    Xb, Y, labels = digits
    thetas = nncore.init_thetas([64, 25, 10], np.random.default_rng(0))
    config = TrainConfig(
        optimizer=optimizer,
        dtype="float32",
        max_iter=40,
        batch_size=200,
        learning_rate=0.02 if optimizer == "adam" else 2.0,
    )
    result = quietly(thetas, Xb, Y, config)
    assert all(theta.dtype == np.float32 for theta in result.thetas)
    assert result.cost_history.dtype == np.float64
    assert np.mean(nncore.predict(result.thetas, Xb) == labels) > 0.85


def test_early_stopping_returns_the_best_validation_thetas(digits):
    Xb, Y, _ = digits
    # 60 training rows and no penalty overfit fast; the validation cost turns up.
    train_rows, val_rows = slice(0, 60), slice(1000, 1797)
    config = TrainConfig(lam=0.0, max_iter=300, early_stopping=True, n_iter_no_change=5)
    thetas = nncore.init_thetas([64, 25, 10], np.random.default_rng(0))
    result = quietly(
        thetas, Xb[train_rows], Y[train_rows], config, Xb_val=Xb[val_rows], Y_val=Y[val_rows]
    )
    assert result.stop_reason == "early_stopping" and result.converged
    assert result.n_iter < 300
    assert result.val_cost_history.shape == (result.n_iter,)
    best = result.val_cost_history.min()
    assert cost(result.thetas, Xb[val_rows], Y[val_rows], lam=0.0) == pytest.approx(best, 1e-12)
    assert result.val_cost_history[-1] > best


def test_validation_costs_are_recorded_without_early_stopping(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2], m=30)
    result = quietly(
        thetas, Xb[:20], Y[:20], TrainConfig(max_iter=4, tol=0), Xb_val=Xb[20:], Y_val=Y[20:]
    )
    assert result.val_cost_history.shape == (result.n_iter,)


def test_shapes_and_ones_column_are_checked_once(make_problem):
    thetas, Xb, Y = make_problem([3, 4, 2], m=10)
    config = TrainConfig(max_iter=2)
    with pytest.raises(ValueError, match=r"expected Xb of shape \(m, n\+1\) = \(m, 4\)"):
        nncore.train(thetas, Xb[:, 1:], Y, config)
    with pytest.raises(ValueError, match=r"expected Y of shape \(m, K\) = \(10, 2\)"):
        nncore.train(thetas, Xb, Y[:9], config)
    with pytest.raises(ValueError, match="first column of ones"):
        nncore.train(thetas, Xb * 2, Y, config)
    with pytest.raises(ValueError, match=r"expected Y_val of shape \(m, K\) = \(3, 2\)"):
        nncore.train(thetas, Xb, Y, config, Xb_val=Xb[:3], Y_val=Y[:4])
    with pytest.raises(ValueError, match="together"):
        nncore.train(thetas, Xb, Y, config, Xb_val=Xb[:3])
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        nncore.train(thetas, Xb, Y * 2, config)
