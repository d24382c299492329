"""Typed errors and warnings raised by training, for callers to catch by name."""


class TrainingDiverged(RuntimeError):  # noqa: N818 - the name is public API (DESIGN.md)
    """The training cost became non-finite (inf or NaN); no thetas are returned.

    Attributes
    ----------
    iteration : int
        The 1-based iteration at which the cost stopped being finite.
    cost : float
        The offending cost value.
    """

    def __init__(self, iteration: int, cost: float) -> None:
        super().__init__(
            f"training diverged at iteration {iteration}: cost is {cost!r}; "
            "lower the learning rate or raise lam"
        )
        self.iteration = iteration
        self.cost = cost


class ConvergenceWarning(UserWarning):
    """Training stopped at max_iter before its stopping rule was met."""
