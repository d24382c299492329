"""Training loops: batch gradient descent, L-BFGS and mini-batch Adam.

All three share one objective (`_Objective`): the thetas live in one flat vector (see
`nncore.layout`) and the activation, delta and gradient buffers are allocated once.

Stopping rule. Let J_prev, J be the training costs of consecutive iterations.
Training has converged when the relative decrease (J_prev - J) / max(|J_prev|, |J|, 1)
is <= tol: for gd at the first such iteration (a rising cost is an overshooting step, not
convergence), for lbfgs likewise (SciPy's `ftol`, with `gtol` = 0 so that only this rule
applies), and for adam, whose epoch costs are noisy,
after n_iter_no_change consecutive such epochs. Reaching max_iter first returns the
thetas with converged=False and a `ConvergenceWarning`.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from nncore._checks import check_thetas, check_Xb, check_Y, layer_sizes_of
from nncore.backprop import cost_only, evaluate
from nncore.config import TrainConfig
from nncore.errors import ConvergenceWarning, TrainingDiverged
from nncore.layout import Layout
from nncore.workspace import Workspace

ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-8


@dataclass(frozen=True)
class TrainResult:
    """What training produced.

    Attributes
    ----------
    thetas : list of ndarray, thetas[l] of shape (s_l + 1, s_{l+1}), in the config dtype;
        with early stopping, those of the best validation cost
    cost_history : ndarray of shape (n_iter,), float64; the training cost J after each
        iteration (for adam: the mean cost of the epoch's mini-batches, which is J
        itself when batch_size is None)
    n_iter : int, iterations run
    converged : bool, True when the stopping rule (or early stopping) ended training,
        False when max_iter did
    val_cost_history : ndarray of shape (n_iter,) or None; J on the validation set after
        each iteration, when one was given
    stop_reason : "tol", "early_stopping", "max_iter" or "line_search" (L-BFGS could not
        decrease the cost further; converged=False)
    """

    thetas: list[np.ndarray]
    cost_history: np.ndarray
    n_iter: int
    converged: bool
    val_cost_history: np.ndarray | None = None
    stop_reason: str = "tol"


class _Objective:
    """J and its gradient as functions of one flat parameter vector.

    `flat` and `grad` are this object's own buffers; `thetas` and `grads` are views
    into them, so writing a flat vector in updates every theta without a copy.
    """

    def __init__(self, layout: Layout, capacity: int, lam: float, m_total: int, dtype) -> None:
        self.flat = np.empty(layout.size, dtype=dtype)
        self.grad = np.empty(layout.size, dtype=dtype)
        self.thetas = layout.unpack(self.flat)
        self.grads = layout.unpack(self.grad)
        self.ws = Workspace(list(layout.layer_sizes), capacity, dtype)
        self.reg = lam / m_total

    def __call__(self, Xb: np.ndarray, Y: np.ndarray) -> float:
        """J at self.flat for the batch (Xb, Y); self.grad receives dJ/dflat."""
        return evaluate(self.thetas, Xb, Y, self.ws, self.grads, self.reg)


class _Monitor:
    """Records costs, calls back, detects divergence, runs early stopping."""

    def __init__(self, config: TrainConfig, callback, val) -> None:
        self.config = config
        self.callback = callback
        self.val = val  # None or a function flat -> validation cost
        self.costs: list[float] = []
        self.val_costs: list[float] = []
        self.best_val = np.inf
        self.best_flat: np.ndarray | None = None
        self.stale = 0  # iterations since the validation cost last improved
        self.stopped_early = False

    def record(self, J: float, flat: np.ndarray) -> bool:
        """Record one finished iteration; True when early stopping says stop."""
        iteration = len(self.costs) + 1
        if not np.isfinite(J):
            raise TrainingDiverged(iteration, float(J))
        self.costs.append(float(J))
        if self.callback is not None:
            self.callback(iteration, float(J))
        if self.val is None:
            return False
        J_val = float(self.val(flat))
        self.val_costs.append(J_val)
        margin = self.config.tol * max(abs(self.best_val), 1.0) if self.val_costs[:-1] else 0.0
        if J_val < self.best_val - margin:
            self.best_val, self.best_flat, self.stale = J_val, flat.copy(), 0
            return False
        self.stale += 1
        self.stopped_early = (
            self.config.early_stopping and self.stale >= self.config.n_iter_no_change
        )
        return self.stopped_early


def _stalled(costs: list[float], tol: float) -> bool:
    """The relative decrease of the last iteration is <= tol."""
    if len(costs) < 2:
        return False
    J_prev, J = costs[-2], costs[-1]
    return J_prev - J <= tol * max(abs(J_prev), abs(J), 1.0)


def _run_gd(objective, Xb, Y, config, monitor) -> str:
    step = np.empty_like(objective.flat)
    objective(Xb, Y)  # gradient at the initial thetas; its cost is not an iteration's
    for _ in range(config.max_iter):
        np.multiply(objective.grad, config.learning_rate, out=step)
        objective.flat -= step
        J = objective(Xb, Y)
        if monitor.record(J, objective.flat):
            return "early_stopping"
        # A rising cost is a step that overshot, not convergence: keep going, and let
        # it settle, hit max_iter, or overflow into TrainingDiverged.
        if _stalled(monitor.costs, config.tol) and monitor.costs[-1] <= monitor.costs[-2]:
            return "tol"
    return "max_iter"


def _run_lbfgs(objective, Xb, Y, config, monitor) -> str:
    dtype = objective.flat.dtype

    def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
        # SciPy works in float64; the network runs in the config dtype.
        np.copyto(objective.flat, w, casting="same_kind")
        J = objective(Xb, Y)
        if not np.isfinite(J):
            raise TrainingDiverged(len(monitor.costs) + 1, float(J))
        return float(J), objective.grad.astype(np.float64)

    def after_iteration(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        x = intermediate_result.x.astype(dtype)
        if monitor.record(intermediate_result.fun, x):
            raise StopIteration  # SciPy ends the run and returns the current x

    result = scipy.optimize.minimize(
        fun,
        objective.flat.astype(np.float64),
        jac=True,
        method="L-BFGS-B",
        callback=after_iteration,
        options={
            "maxiter": config.max_iter,
            "ftol": config.tol,
            "gtol": 0.0,
            "maxfun": max(15000, 20 * config.max_iter),
        },
    )
    np.copyto(objective.flat, result.x, casting="same_kind")
    if monitor.stopped_early:
        return "early_stopping"
    if result.status == 0:
        return "tol"
    if result.status == 1 or len(monitor.costs) >= config.max_iter:
        return "max_iter"
    return "line_search"


def _run_adam(objective, Xb, Y, config, monitor) -> str:
    m = Xb.shape[0]
    batch = min(config.batch_size or m, m)
    rng = np.random.default_rng(config.seed)
    first = np.zeros_like(objective.flat)  # running mean of gradients
    second = np.zeros_like(objective.flat)  # running mean of squared gradients
    scratch = np.empty_like(objective.flat)
    if batch < m:
        X_batch = np.empty((batch, Xb.shape[1]), dtype=Xb.dtype)
        Y_batch = np.empty((batch, Y.shape[1]), dtype=Y.dtype)
    t = 0
    flat_epochs = 0
    for _ in range(config.max_iter):
        total = 0.0
        order = rng.permutation(m) if batch < m else None
        for start in range(0, m, batch):
            if order is None:
                xb, yb = Xb, Y
            else:
                rows = order[start : start + batch]
                xb = np.take(Xb, rows, axis=0, out=X_batch[: len(rows)])
                yb = np.take(Y, rows, axis=0, out=Y_batch[: len(rows)])
            J = objective(xb, yb)
            if not np.isfinite(J):
                raise TrainingDiverged(len(monitor.costs) + 1, float(J))
            total += J * xb.shape[0]
            t += 1
            g = objective.grad
            first *= ADAM_BETA_1
            np.multiply(g, 1 - ADAM_BETA_1, out=scratch)
            first += scratch
            second *= ADAM_BETA_2
            np.multiply(g, g, out=scratch)
            scratch *= 1 - ADAM_BETA_2
            second += scratch
            step = config.learning_rate * np.sqrt(1 - ADAM_BETA_2**t) / (1 - ADAM_BETA_1**t)
            np.sqrt(second, out=scratch)
            scratch += ADAM_EPSILON
            np.divide(first, scratch, out=scratch)
            scratch *= step
            objective.flat -= scratch
        if monitor.record(total / m, objective.flat):
            return "early_stopping"
        flat_epochs = flat_epochs + 1 if _stalled(monitor.costs, config.tol) else 0
        if flat_epochs >= config.n_iter_no_change:
            return "tol"
    return "max_iter"


_OPTIMIZERS = {"gd": _run_gd, "lbfgs": _run_lbfgs, "adam": _run_adam}


def train(
    thetas: list[np.ndarray],
    Xb: np.ndarray,
    Y: np.ndarray,
    config: TrainConfig,
    *,
    Xb_val: np.ndarray | None = None,
    Y_val: np.ndarray | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Fit thetas to (Xb, Y) by minimising J (see `cost_and_gradients`).

    Parameters
    ----------
    thetas : list of ndarray, thetas[l] of shape (s_l + 1, s_{l+1}); the initial
        weights, copied (the caller's arrays are never modified)
    Xb : ndarray of shape (m, n + 1) whose first column is all ones (checked once here)
    Y : ndarray of shape (m, K), targets in [0, 1] (one-hot; K = 1 for two classes)
    config : TrainConfig
    Xb_val, Y_val : optional validation set, shapes (m_val, n + 1) and (m_val, K); its
        cost is recorded every iteration and drives `config.early_stopping`
    callback : optional callable(iteration, cost), called once per iteration with the
        1-based iteration number and its training cost

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError on mismatched shapes or a bad first column; TrainingDiverged when the
    cost becomes non-finite. Warns ConvergenceWarning when max_iter ends training.

    Notes
    -----
    Deterministic: gd and lbfgs use no randomness, adam shuffles with
    numpy.random.default_rng(config.seed), so the same inputs give bit-identical
    thetas on the same machine and BLAS. See the module docstring for the stopping rule.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"expected config a TrainConfig, got {type(config).__name__}")
    dtype = np.dtype(config.dtype)
    thetas = check_thetas(thetas)
    sizes = layer_sizes_of(thetas)
    Xb = _checked_data(Xb, Y, sizes, dtype, "")
    Y = np.ascontiguousarray(Y, dtype=dtype)
    m = Xb.shape[0]
    layout = Layout.from_layer_sizes(sizes)
    batch = m if config.optimizer != "adam" else min(config.batch_size or m, m)
    objective = _Objective(layout, batch, config.lam, m, dtype)
    np.copyto(objective.flat, layout.pack(thetas, dtype))

    val = None
    if (Xb_val is None) != (Y_val is None):
        raise ValueError("expected Xb_val and Y_val together, got only one of them")
    if Xb_val is not None:
        Xb_val = _checked_data(Xb_val, Y_val, sizes, dtype, "_val")
        Y_val = np.ascontiguousarray(Y_val, dtype=dtype)
        val_ws = Workspace(sizes, Xb_val.shape[0], dtype)
        val_reg = config.lam / Xb_val.shape[0]

        def val(flat: np.ndarray) -> float:
            return cost_only(layout.unpack(flat), Xb_val, Y_val, val_ws, val_reg)

    monitor = _Monitor(config, callback, val)
    reason = _OPTIMIZERS[config.optimizer](objective, Xb, Y, config, monitor)

    flat = objective.flat
    if reason == "early_stopping" and monitor.best_flat is not None:
        flat = monitor.best_flat
    if not np.all(np.isfinite(flat)):
        raise TrainingDiverged(len(monitor.costs), float("nan"))
    converged = reason in ("tol", "early_stopping")
    if reason in ("max_iter", "line_search"):
        warnings.warn(
            f"{config.optimizer} stopped after {len(monitor.costs)} iterations "
            f"({reason.replace('_', ' ')}) before the cost stopped improving by more than "
            f"tol={config.tol}; raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    return TrainResult(
        thetas=[theta.copy() for theta in layout.unpack(flat)],
        cost_history=np.asarray(monitor.costs, dtype=np.float64),
        n_iter=len(monitor.costs),
        converged=converged,
        val_cost_history=None if val is None else np.asarray(monitor.val_costs, np.float64),
        stop_reason=reason,
    )


def _checked_data(Xb, Y, sizes, dtype, suffix: str) -> np.ndarray:
    """Validate (Xb, Y) once for training; return Xb as a C-ordered array of dtype."""
    Xb = check_Xb(Xb, sizes[0] + 1, name="Xb" + suffix)
    Y = check_Y(Y, Xb.shape[0], sizes[-1], name="Y" + suffix)
    if Xb.shape[0] == 0:
        raise ValueError(f"expected Xb{suffix} with at least one row, got {Xb.shape}")
    if not np.all(Xb[:, 0] == 1):
        raise ValueError(f"expected Xb{suffix} with a first column of ones (see add_bias)")
    if not np.all(np.isfinite(Xb)):
        raise ValueError(f"expected finite values in Xb{suffix}")
    if not np.all((Y >= 0) & (Y <= 1)):
        raise ValueError(f"expected Y{suffix} with values in [0, 1] (one-hot targets)")
    return np.ascontiguousarray(Xb, dtype=dtype)
