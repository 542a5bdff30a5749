"""NumPy BPTT (notebook 01's solutions) versus torch.autograd on the same computation.

One training step's worth of work: forward pass, softmax cross-entropy, and all gradients, for a
vanilla RNN. The NumPy side runs the notebook's own exercise solutions (loaded with
labutils.exercises.load_exercises), the torch side the same equations written with torch ops and
differentiated by autograd. Both in float64 on the CPU, on the same numbers; the gradients are
compared before anything is timed. Printed: median time per step of each and their ratio.

Usage: python benchmarks/bench_bptt.py
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import save  # noqa: E402
from labutils.exercises import load_exercises  # noqa: E402

# (N, T, D, H, K): a small lab-sized model and a larger one.
SIZES = [(32, 24, 5, 16, 5), (64, 100, 32, 128, 10)]
REPEATS = 7
THREADS = 1  # NumPy's BLAS and torch both single-threaded, so the comparison is about the code, not the cores


def make_problem(N, T, D, H, K, seed=0):
    rng = np.random.default_rng(seed)
    params = {"U": rng.standard_normal((H, D)) / math.sqrt(D), "W": rng.standard_normal((H, H)) / math.sqrt(H),
              "V": rng.standard_normal((K, H)) / math.sqrt(H), "b1": np.zeros(H), "b2": np.zeros(K)}
    return params, rng.standard_normal((N, T, D)), np.zeros((N, H)), rng.integers(0, K, (N, T))


def numpy_step(ex, params, X, h0, y):
    _, O, cache = ex.rnn_forward(X, h0, params)
    loss, dO = ex.softmax_cross_entropy(O, y)
    return loss, ex.rnn_backward(dO, cache)


def torch_step(params, X, h0, y):
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    X_t, h = torch.from_numpy(X), torch.from_numpy(h0)
    states = []
    for t in range(X.shape[1]):
        h = torch.tanh(X_t[:, t] @ leaves["U"].T + h @ leaves["W"].T + leaves["b1"])
        states.append(h)
    O = torch.stack(states, dim=1) @ leaves["V"].T + leaves["b2"]
    N, T, K = O.shape
    loss = F.cross_entropy(O.reshape(-1, K), torch.from_numpy(y).reshape(-1), reduction="sum") / N
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in leaves.items()}


def median_seconds(fn, repeats=REPEATS):
    fn()  # warm-up (allocations, torch dispatch caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    torch.set_num_threads(THREADS)
    try:  # limit NumPy's BLAS too when threadpoolctl is available (it ships with scikit-learn)
        from threadpoolctl import threadpool_limits
        threadpool_limits(THREADS)
    except ImportError:
        pass
    ex = load_exercises("01_bptt")
    rows = []
    for N, T, D, H, K in SIZES:
        params, X, h0, y = make_problem(N, T, D, H, K)
        loss_np, grads_np = numpy_step(ex, params, X, h0, y)
        loss_t, grads_t = torch_step(params, X, h0, y)
        worst = max(float(np.max(np.abs(grads_np[k] - grads_t[k]))) for k in grads_t)
        if abs(loss_np - loss_t) > 1e-9 * abs(loss_t) or worst > 1e-9:
            raise AssertionError(f"NumPy and torch disagree at N={N}, T={T}, H={H}: max gradient difference {worst:.3g}")
        t_np = median_seconds(lambda: numpy_step(ex, params, X, h0, y))
        t_torch = median_seconds(lambda: torch_step(params, X, h0, y))
        rows.append({"N": N, "T": T, "D": D, "H": H, "K": K, "numpy_ms": 1e3 * t_np, "torch_autograd_ms": 1e3 * t_torch,
                     "numpy_over_torch": t_np / t_torch, "max_grad_diff": worst})
    table = save("bptt", rows, notes=(
        f"Forward + softmax cross-entropy + all gradients of a vanilla RNN, float64, CPU, {THREADS} thread(s); "
        f"median of {REPEATS} runs. numpy = notebook 01's solutions; torch = the same equations under autograd. "
        "numpy_over_torch > 1 means NumPy is slower."))
    for row in table.to_dict(orient="records"):
        print(f"N={row['N']} T={row['T']} H={row['H']}: NumPy / torch.autograd time = {row['numpy_over_torch']:.2f}")


if __name__ == "__main__":
    main()
