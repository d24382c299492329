"""PNG plots logged with every run (matplotlib, headless Agg backend)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# pyplot and mathtext (log-axis tick labels) are not thread-safe; sweep points plot from
# several threads of one process.
_LOCK = threading.Lock()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _locked(plot):
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return plot(*args, **kwargs)

    return wrapper


@_locked
def plot_cost_curve(cost_history: np.ndarray, path: Path, title: str = "") -> Path:
    """Training cost J against iteration, log-scaled when it spans decades."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    steps = np.arange(1, len(cost_history) + 1)
    ax.plot(steps, cost_history, color="tab:blue", lw=1.5)
    positive = np.asarray(cost_history) > 0
    if positive.all() and cost_history.max() / max(cost_history.min(), 1e-300) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost J (cross-entropy + L2)")
    ax.set_title(title or f"training cost, final {cost_history[-1]:.4g}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


@_locked
def plot_confusion_matrix(cm: np.ndarray, classes: Sequence, path: Path, title: str = "") -> Path:
    """Counts of true (rows) against predicted (columns) classes on the test split."""
    plt = _pyplot()
    k = len(classes)
    size = min(2 + 0.6 * k, 10)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(cm, cmap="Blues")
    labels = [str(c) for c in classes]
    ax.set_xticks(range(k), labels, rotation=45 if k > 5 else 0)
    ax.set_yticks(range(k), labels)
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            colour = "white" if cm[i, j] > threshold else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=colour, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"test confusion matrix ({cm.trace()}/{cm.sum()} correct)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


@_locked
def plot_sweep(results, metric: str, params: Sequence[str], path: Path) -> Path:
    """`metric` against each swept parameter, one panel per parameter (a DataFrame in)."""
    plt = _pyplot()
    params = list(params) or ["point"]
    fig, axes = plt.subplots(1, len(params), figsize=(4 * len(params), 3.5), dpi=100, squeeze=False)
    for ax, name in zip(axes[0], params, strict=True):
        values = results[name].astype(str) if name in results else results.index.astype(str)
        order = sorted(set(values), key=_natural)
        positions = {v: i for i, v in enumerate(order)}
        ax.scatter([positions[v] for v in values], results[metric], alpha=0.8)
        ax.set_xticks(range(len(order)), order, rotation=30)
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{metric} by swept parameter")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _natural(value: str):
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
