"""nncore: sigmoid neural networks in plain NumPy, exactly as docs/DESIGN.md states.

`thetas[l]` maps layer l to layer l+1 and has shape (s_l + 1, s_{l+1}); row 0 holds the
bias weights. Xb is the (m, n + 1) feature matrix with a leading column of ones.
"""

from nncore.backprop import cost_and_gradients
from nncore.config import TrainConfig
from nncore.errors import ConvergenceWarning, TrainingDiverged
from nncore.gradcheck import numerical_gradients
from nncore.io import load_thetas, save_thetas, thetas_sha256
from nncore.network import add_bias, forward, init_thetas, predict, predict_proba
from nncore.train import TrainResult, train

__all__ = [
    "ConvergenceWarning",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "add_bias",
    "cost_and_gradients",
    "forward",
    "init_thetas",
    "load_thetas",
    "numerical_gradients",
    "predict",
    "predict_proba",
    "save_thetas",
    "thetas_sha256",
    "train",
]
