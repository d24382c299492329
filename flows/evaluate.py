"""Metrics of a trained network: pure functions, separate from logging them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.prepare import Prepared
from nncore import cost_and_gradients, predict


@dataclass(frozen=True)
class Evaluation:
    """Flat, split-prefixed metrics plus the test confusion matrix."""

    metrics: dict[str, float]
    confusion: np.ndarray  # (K_classes, K_classes): rows true class, columns predicted


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def evaluate(thetas: list[np.ndarray], prepared: Prepared, lam: float) -> Evaluation:
    """Cost (with the training lam) and accuracy on every split; confusion on test."""
    n_classes = len(prepared.preprocessing["classes"])
    metrics: dict[str, float] = {}
    for split in ("train", "val", "test"):
        Xb, Y, y = (getattr(prepared, f"{name}_{split}") for name in ("Xb", "Y", "y"))
        J, _ = cost_and_gradients(thetas, Xb, Y, lam=lam)
        metrics[f"{split}_cost"] = float(J)
        y_pred = predict(thetas, Xb)  # (m_split,)
        metrics[f"{split}_accuracy"] = accuracy(y, y_pred)
    # y_pred is the test split's now (the last one): predicted once, used twice.
    return Evaluation(metrics, confusion_matrix(prepared.y_test, y_pred, n_classes))
