"""Notebook 01's NumPy BPTT against torch.autograd, and what the two truncated forms of BPTT cost.

1. One training step's worth of work for a vanilla RNN (forward pass, softmax cross-entropy, every
   gradient): notebook 01's ``rnn_forward``, ``softmax_cross_entropy`` and ``rnn_backward`` against the
   notebook's ``torch_reference`` (the same model differentiated by torch.autograd). Both in float64 on
   one CPU thread, on the same numbers; the gradients are compared before anything is timed.
2. Full BPTT against the notebook's ``truncated_bptt`` (each loss term cut after k steps: about T·k
   backward steps) and ``chunked_bptt`` (full BPTT inside chunks of k steps: T backward steps), on one
   long sequence: seconds per gradient and the relative error of ∇W.

Every function comes from the notebook itself (``labutils.notebook_code.load_notebook``).
Writes build/bench/bptt.{json,md} and build/bench/bptt_truncation.{json,md}.
Usage, from the repository root: ``python -m benchmarks.bench_bptt`` (FAST mode: small sizes, a smoke test).
"""
from __future__ import annotations

import numpy as np
import torch

from benchmarks.common import save, timed
from labutils.config import pick
from labutils.notebook_code import load_notebook

SIZES = pick([(8, 10, 3, 8, 3)], [(32, 24, 5, 16, 5), (64, 100, 32, 128, 10)])   # (N, T, D, H, K)
TRUNCATION = pick({"N": 8, "T": 40, "windows": (5, 20)}, {"N": 8, "T": 200, "windows": (5, 20, 50)})
REPEATS = pick(3, 7)
THREADS = 1  # NumPy's BLAS and torch both single-threaded: the comparison is about the code, not the cores


def limit_threads() -> None:
    torch.set_num_threads(THREADS)
    try:  # NumPy's BLAS too, when threadpoolctl is installed (it ships with scikit-learn)
        from threadpoolctl import threadpool_limits
        threadpool_limits(THREADS)
    except ImportError:
        pass


def make_problem(nb, N, T, D, H, K, seed=0):
    rng = np.random.default_rng(seed)
    params = nb.init_params(D, H, K, rng)
    return rng.standard_normal((N, T, D)), np.zeros((N, H)), params, rng.integers(0, K, (N, T))


def numpy_step(nb, X, h0, params, y):
    _, O, cache = nb.rnn_forward(X, h0, params)
    loss, dO = nb.softmax_cross_entropy(O, y)
    return loss, nb.rnn_backward(dO, cache)


def median_seconds(fn, *args) -> float:
    fn(*args)  # warm-up (allocations, torch's dispatch caches)
    return timed(fn, *args, repeat=REPEATS)[1]


def numpy_vs_autograd(nb) -> list[dict]:
    rows = []
    for N, T, D, H, K in SIZES:
        X, h0, params, y = make_problem(nb, N, T, D, H, K)
        loss_np, grads_np = numpy_step(nb, X, h0, params, y)
        loss_torch, grads_torch, _ = nb.torch_reference(X, h0, params, y)
        worst = max(float(np.max(np.abs(grads_np[k] - grads_torch[k]))) for k in grads_torch)
        if abs(loss_np - loss_torch) > 1e-9 * abs(loss_torch) or worst > 1e-9:
            raise AssertionError(f"NumPy and torch disagree at N={N}, T={T}, H={H}: max gradient difference {worst:.3g}")
        seconds_np = median_seconds(numpy_step, nb, X, h0, params, y)
        seconds_torch = median_seconds(nb.torch_reference, X, h0, params, y)
        rows.append({"N": N, "T": T, "D": D, "H": H, "K": K, "numpy_ms": 1e3 * seconds_np,
                     "torch_autograd_ms": 1e3 * seconds_torch, "numpy_over_torch": seconds_np / seconds_torch,
                     "max_grad_diff": worst})
    return rows


def truncation_costs(nb) -> list[dict]:
    N, T = TRUNCATION["N"], TRUNCATION["T"]
    X, h0, params, y = make_problem(nb, N, T, 3, 16, 3, seed=1)
    _, O, cache = nb.rnn_forward(X, h0, params)
    dO = nb.softmax_cross_entropy(O, y)[1]

    def full_bptt():
        return nb.rnn_backward(dO, nb.rnn_forward(X, h0, params)[2])

    full_dW = full_bptt()["W"]
    rows = [{"form": "full BPTT", "T": T, "k": T, "ms": 1e3 * median_seconds(full_bptt), "rel_error_dW": 0.0}]
    for k in TRUNCATION["windows"]:
        for form, truncated in (("each loss term cut", nb.truncated_bptt), ("chunks", nb.chunked_bptt)):
            dW = truncated(X, h0, params, dO, k)["W"]
            rows.append({"form": form, "T": T, "k": k, "ms": 1e3 * median_seconds(truncated, X, h0, params, dO, k),
                         "rel_error_dW": float(np.linalg.norm(dW - full_dW) / np.linalg.norm(full_dW))})
    return rows


def main() -> None:
    limit_threads()
    nb = load_notebook("01_bptt")
    table = save("bptt", numpy_vs_autograd(nb), notes=(
        f"Forward + softmax cross-entropy + all gradients of a vanilla RNN, float64, CPU, {THREADS} thread(s), "
        f"median of {REPEATS} runs. numpy = notebook 01's exercise solutions; torch = the notebook's "
        "torch_reference under autograd. numpy_over_torch > 1 means NumPy is slower."))
    for row in table.to_dict(orient="records"):
        print(f"N={row['N']} T={row['T']} H={row['H']}: NumPy / torch.autograd time = {row['numpy_over_torch']:.2f}")
    save("bptt_truncation", truncation_costs(nb), notes=(
        f"Gradient of one batch of {TRUNCATION['N']} sequences (D = 3, H = 16, W at init scale 1) by full BPTT "
        "and by notebook 01's two truncated forms, each with its own forward pass (the output gradient is given); "
        f"median ms of {REPEATS} runs, {THREADS} thread(s). 'each loss term cut' walks back about T·k steps, "
        "'chunks' T steps."))


if __name__ == "__main__":
    main()
