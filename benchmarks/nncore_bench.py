"""nncore against its peers, measured side by side in one process (issue 2).

1. digits 64-25-10, lam=1, 50 L-BFGS iterations: nncore vs scikit-learn's
   MLPClassifier(activation="logistic", solver="lbfgs", alpha=1) on the one-hot
   (multilabel) target, same initial weights. sklearn's loss is
   mean_i sum_k binary log loss + alpha/(2m) ||W||^2, the same J as ours with lam = alpha;
   the benchmark checks that on sklearn's own final weights. Then PyTorch CPU float64
   autograd, 500 gd steps, vs nncore's gd (skipped without torch).
2. One full-batch forward+backward at m=60000, 784-300-10: nncore's step divided by
   the same five GEMMs alone, into preallocated outputs.
3. Peak memory of training at m=1e6, 64-25-10 float64, in a fresh subprocess, measured
   with tracemalloc (NumPy reports its data allocations to it), relative to Xb.nbytes.

Every timing is the median of a few repeats; contenders alternate within each repeat
so that both see the same machine load.
"""

import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import nncore
from nncore.backprop import evaluate
from nncore.layout import Layout
from nncore.workspace import Workspace

REPEATS = 5


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    X = data.data / 16.0
    return X, nncore.add_bias(X), np.eye(10)[data.target]


def bench_sklearn(X, Xb, Y, label: str) -> None:
    from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    thetas = nncore.init_thetas([64, 25, 10], np.random.default_rng(0))
    config = nncore.TrainConfig(optimizer="lbfgs", lam=1.0, max_iter=50, tol=0.0)

    def fit_sklearn():
        clf = MLPClassifier(
            hidden_layer_sizes=(25,),
            activation="logistic",
            solver="lbfgs",
            alpha=1.0,
            max_iter=1,
            tol=0.0,
            warm_start=True,
        )
        clf.fit(X, Y)  # builds the label binariser and buffers; weights replaced below
        clf.coefs_ = [theta[1:].copy() for theta in thetas]
        clf.intercepts_ = [theta[0].copy() for theta in thetas]
        clf.max_iter = 50
        seconds, _ = _timed(lambda: clf.fit(X, Y))
        return seconds, clf

    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)
        warnings.simplefilter("ignore", nncore.ConvergenceWarning)
        for _ in range(REPEATS):
            seconds, result = _timed(lambda: nncore.train(thetas, Xb, Y, config))
            ours.append(seconds)
            seconds, clf = fit_sklearn()
            theirs.append(seconds)
    sk_thetas = [
        np.vstack([b[None, :], W]) for W, b in zip(clf.coefs_, clf.intercepts_, strict=True)
    ]
    J_ours_on_sk, _ = nncore.cost_and_gradients(sk_thetas, Xb, Y, lam=1.0)
    t_ours, t_sk = statistics.median(ours), statistics.median(theirs)
    print(f"1. digits 64-25-10, lam=1, 50 L-BFGS iterations (median of 5), {label}")
    J_ours = result.cost_history[-1]
    print(f"   nncore  {t_ours * 1e3:8.1f} ms  {result.n_iter} it  final J = {J_ours:.6f}")
    print(f"   sklearn {t_sk * 1e3:8.1f} ms  {clf.n_iter_} it  final J = {clf.loss_:.6f}")
    print(f"   speed-up nncore vs sklearn: {t_sk / t_ours:.2f}x (target >= 3x)")
    print(
        f"   same cost check: sklearn loss_ {clf.loss_:.12f} vs nncore J at sklearn's "
        f"weights {J_ours_on_sk:.12f} (diff {abs(clf.loss_ - J_ours_on_sk):.1e})"
    )


def bench_torch(Xb, Y) -> None:
    try:
        import torch
    except ImportError:
        print("   PyTorch gd 500 steps: skipped (torch not installed)")
        return
    thetas = nncore.init_thetas([64, 25, 10], np.random.default_rng(0))
    config = nncore.TrainConfig(optimizer="gd", lam=1.0, learning_rate=1.0, max_iter=500, tol=0.0)
    m, lam, lr = Xb.shape[0], 1.0, 1.0
    X_t, Y_t = torch.from_numpy(Xb), torch.from_numpy(Y)

    def train_torch():
        T1 = torch.tensor(thetas[0], requires_grad=True)
        T2 = torch.tensor(thetas[1], requires_grad=True)
        ones = torch.ones((m, 1), dtype=torch.float64)
        for _ in range(500):
            a2 = torch.cat([ones, torch.sigmoid(X_t @ T1)], dim=1)
            z3 = a2 @ T2
            data = (
                torch.nn.functional.binary_cross_entropy_with_logits(z3, Y_t, reduction="sum") / m
            )
            J = data + lam / (2 * m) * ((T1[1:] ** 2).sum() + (T2[1:] ** 2).sum())
            J.backward()
            with torch.no_grad():
                T1 -= lr * T1.grad
                T2 -= lr * T2.grad
                T1.grad.zero_()
                T2.grad.zero_()
        return J.item()

    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nncore.ConvergenceWarning)
        for _ in range(3):
            seconds, result = _timed(lambda: nncore.train(thetas, Xb, Y, config))
            ours.append(seconds)
            seconds, J_torch = _timed(train_torch)
            theirs.append(seconds)
    t_ours, t_torch = statistics.median(ours), statistics.median(theirs)
    print(f"   PyTorch {torch.__version__} CPU float64 autograd, 500 gd steps (median of 3)")
    print(f"   nncore  {t_ours * 1e3:8.1f} ms  final J = {result.cost_history[-1]:.6f}")
    print(f"   torch   {t_torch * 1e3:8.1f} ms  final J = {J_torch:.6f} (before its last step)")
    print(f"   speed-up nncore vs torch: {t_torch / t_ours:.2f}x (target >= 1x)")


def bench_step() -> None:
    m, sizes = 60000, [784, 300, 10]
    rng = np.random.default_rng(0)
    Xb = nncore.add_bias(rng.random((m, sizes[0])))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    layout = Layout.from_layer_sizes(sizes)
    thetas = layout.unpack(layout.pack(nncore.init_thetas(sizes, rng)))
    grads = layout.unpack(np.empty(layout.size))
    ws = Workspace(sizes, m, np.dtype(np.float64))
    reg = 1.0 / m
    # The same GEMMs, alone, into preallocated contiguous outputs.
    z2 = np.empty((m, 301))
    z3 = np.empty((m, 10))
    d2 = np.empty((m, 300))
    g1, g2 = np.empty((785, 300)), np.empty((301, 10))

    def gemms():
        np.matmul(Xb, thetas[0], out=z2[:, 1:])
        np.matmul(z2, thetas[1], out=z3)
        np.matmul(z2.T, z3, out=g2)
        np.matmul(z3, thetas[1][1:].T, out=d2)
        np.matmul(Xb.T, d2, out=g1)

    evaluate(thetas, Xb, Y, ws, grads, reg)  # first touch of every buffer
    gemms()
    ratios, steps, bare = [], [], []
    for _ in range(REPEATS):
        t_step, _ = _timed(lambda: evaluate(thetas, Xb, Y, ws, grads, reg))
        t_gemm, _ = _timed(gemms)
        ratios.append(t_step / t_gemm)
        steps.append(t_step)
        bare.append(t_gemm)
    print("2. one forward+backward, m=60000, 784-300-10, float64 (median of 5)")
    print(
        f"   nncore step {statistics.median(steps) * 1e3:.1f} ms, GEMMs alone "
        f"{statistics.median(bare) * 1e3:.1f} ms, ratio {statistics.median(ratios):.2f} "
        "(target <= 1.3)"
    )


_MEMORY_PROBE = """
import tracemalloc, warnings
import numpy as np
import nncore
m = 1_000_000
rng = np.random.default_rng(0)
Xb = nncore.add_bias(rng.random((m, 64)))
Y = np.eye(10)[rng.integers(0, 10, m)]
thetas = nncore.init_thetas([64, 25, 10], rng)
warnings.simplefilter("ignore", nncore.ConvergenceWarning)
tracemalloc.start()
nncore.train(thetas, Xb, Y, nncore.TrainConfig(optimizer="{optimizer}", max_iter=3))
_, peak = tracemalloc.get_traced_memory()
print(Xb.nbytes, Y.nbytes, peak)
"""


def bench_memory() -> None:
    print("3. peak memory of training, m=1e6, 64-25-10, float64 (tracemalloc, subprocess)")
    for optimizer in ("lbfgs", "gd"):
        probe = _MEMORY_PROBE.replace("{optimizer}", optimizer)
        output = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
        xb, y, peak = (int(v) for v in output.split())
        total = xb + y + peak
        print(
            f"   {optimizer:5s}: Xb {xb / 2**20:.0f} MiB, Y {y / 2**20:.0f} MiB, allocated during "
            f"train {peak / 2**20:.0f} MiB ({peak / xb:.2f}x Xb); "
            f"data + train peak = {total / xb:.2f}x Xb (target < 3x)"
        )


def main() -> None:
    print("nncore benchmark (numpy", np.__version__, ")")
    X, Xb, Y = _digits()
    bench_sklearn(X, Xb, Y, "BLAS threads: default")
    # On a small problem thread hand-off dominates and a shared machine makes it
    # erratic; one BLAS thread for both contenders isolates the per-step work.
    with threadpool_limits(limits=1, user_api="blas"):
        bench_sklearn(X, Xb, Y, "BLAS threads: 1")
    bench_torch(Xb, Y)
    bench_step()
    bench_memory()


if __name__ == "__main__":
    main()
