"""Training hyperparameters: one frozen, validated dataclass."""

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

OPTIMIZERS = ("gd", "lbfgs", "adam")
DTYPES = ("float64", "float32")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes
    ----------
    optimizer : "gd" (batch gradient descent, theta -= learning_rate * grad),
        "lbfgs" (SciPy L-BFGS-B) or "adam" (mini-batches, seeded shuffling)
    lam : float >= 0, the regularisation strength
    learning_rate : float > 0, the step of gd and adam (unused by lbfgs)
    max_iter : int >= 1; an iteration is one step for gd and lbfgs, one epoch for adam
    tol : float >= 0; training stops when the relative decrease of the cost,
        (J_prev - J) / max(|J_prev|, |J|, 1), is <= tol (see `train`)
    batch_size : int >= 1 or None (full batch); adam only
    seed : int >= 0, seeds adam's shuffling
    dtype : "float64" or "float32"
    early_stopping : bool; with a validation set, stop when its cost has not improved
        for n_iter_no_change iterations and return the best thetas
    n_iter_no_change : int >= 1
    """

    optimizer: str = "lbfgs"
    lam: float = 1.0
    learning_rate: float = 1.0
    max_iter: int = 100
    tol: float = 1e-6
    batch_size: int | None = None
    seed: int = 0
    dtype: str = "float64"
    early_stopping: bool = False
    n_iter_no_change: int = 10

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"expected optimizer in {OPTIMIZERS}, got {self.optimizer!r}")
        if not _is_real(self.lam) or self.lam < 0:
            raise ValueError(f"expected lam a finite number >= 0, got {self.lam!r}")
        if not _is_real(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError(
                f"expected learning_rate a finite number > 0, got {self.learning_rate!r}"
            )
        if not _is_int(self.max_iter) or self.max_iter < 1:
            raise ValueError(f"expected max_iter an int >= 1, got {self.max_iter!r}")
        if not _is_real(self.tol) or self.tol < 0:
            raise ValueError(f"expected tol a finite number >= 0, got {self.tol!r}")
        if self.batch_size is not None and (not _is_int(self.batch_size) or self.batch_size < 1):
            raise ValueError(f"expected batch_size an int >= 1 or None, got {self.batch_size!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"expected seed an int >= 0, got {self.seed!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"expected dtype in {DTYPES}, got {self.dtype!r}")
        if not isinstance(self.early_stopping, bool):
            raise ValueError(f"expected early_stopping a bool, got {self.early_stopping!r}")
        if not _is_int(self.n_iter_no_change) or self.n_iter_no_change < 1:
            raise ValueError(
                f"expected n_iter_no_change an int >= 1, got {self.n_iter_no_change!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        """The hyperparameters as a plain dict of str, int, float, bool and None."""
        return asdict(self)
