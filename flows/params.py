"""The train flow's parameters: one pydantic model, validated before any work.

Prefect renders this model as the form of a deployment's parameters in its UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nncore import TrainConfig


class TrainParams(BaseModel):
    """Everything that defines a training run (and so everything a replay needs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str = Field("data/digits.csv", description="CSV or Parquet file with a label column")
    label: str = Field("label", description="name of the label column")
    hidden: list[int] = Field([25], description="hidden layer sizes, e.g. [25, 25]")
    lam: float = Field(1.0, ge=0, description="L2 regularisation strength (lambda)")
    optimizer: Literal["lbfgs", "gd", "adam"] = "lbfgs"
    learning_rate: float = Field(1.0, gt=0, description="step size for gd and adam")
    max_iter: int = Field(100, ge=1, description="iterations (epochs for adam)")
    tol: float = Field(1e-6, ge=0, description="stop when the cost improves by less")
    batch_size: int | None = Field(None, ge=1, description="adam mini-batch size")
    seed: int = Field(0, ge=0, description="seeds the initial weights, split and shuffling")
    split_seed: int | None = Field(None, ge=0, description="seeds the split (default: seed)")
    blas_threads: int | None = Field(None, ge=1, description="BLAS threads (default: all)")
    val_fraction: float = Field(0.15, gt=0, lt=1)
    test_fraction: float = Field(0.15, gt=0, lt=1)
    experiment: str | None = Field(None, description="MLflow experiment (default: data stem)")
    register_model: bool = Field(False, description="register; champion if it is better")

    @field_validator("hidden")
    @classmethod
    def _positive_layers(cls, hidden: list[int]) -> list[int]:
        if not hidden or any(h < 1 for h in hidden):
            raise ValueError(f"hidden layers must be positive sizes, got {hidden}")
        return hidden

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> TrainParams:
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must leave rows for training")
        return self

    @property
    def experiment_name(self) -> str:
        return self.experiment or Path(self.data).stem

    @property
    def fractions(self) -> tuple[float, float, float]:
        train = round(1.0 - self.val_fraction - self.test_fraction, 12)
        return (train, self.val_fraction, self.test_fraction)

    @property
    def effective_split_seed(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed

    def train_config(self) -> TrainConfig:
        """The nncore training configuration these parameters describe."""
        return TrainConfig(
            optimizer=self.optimizer,
            lam=self.lam,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            tol=self.tol,
            batch_size=self.batch_size,
            seed=self.seed,
        )

    @property
    def hidden_layers(self) -> str:
        return ",".join(str(h) for h in self.hidden)
