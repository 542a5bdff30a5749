"""Forward + backward time per batch: nn.RNN, nn.LSTM, nn.GRU and notebook 03's scratch LSTM.

Size: one layer, batch N = 64 sequences of T = 100 steps, D = 32 inputs, H = 128 hidden units,
float32, CPU, loss = sum of all outputs. The scratch LSTM is the notebook's own `lstm_forward`
(loaded from notebooks/03_lstm_gru.ipynb), a Python loop over `lstm_cell`. Each figure is the median
of REPEATS timed batches after one warm-up batch, at 1 thread and at the default thread count.

Usage: python benchmarks/bench_cells.py      (about a minute on an idle 2-core CPU)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from benchmarks.common import save  # noqa: E402
from labutils.config import set_threads  # noqa: E402
from labutils.exercises import load_exercises  # noqa: E402

N, T, D, H = 64, 100, 32, 128
REPEATS = 10


def median_seconds(step, repeats: int = REPEATS) -> tuple[float, float]:
    """(median, min) wall time of ``step()`` over ``repeats`` runs, after one warm-up run."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def fused_step(layer: nn.Module, X: torch.Tensor):
    def step():
        layer.zero_grad(set_to_none=True)
        layer(X)[0].sum().backward()
    return step


def scratch_step(lstm_forward, layer: nn.LSTM, X: torch.Tensor):
    weights = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
    zeros = torch.zeros(X.shape[0], layer.hidden_size)

    def step():
        layer.zero_grad(set_to_none=True)
        lstm_forward(X, zeros, zeros, *weights)[0].sum().backward()
    return step


def main() -> None:
    torch.manual_seed(0)
    exercises = load_exercises("03_lstm_gru")
    X = torch.randn(N, T, D)
    models = {"nn.RNN (tanh)": nn.RNN(D, H, batch_first=True), "nn.LSTM": nn.LSTM(D, H, batch_first=True),
              "nn.GRU": nn.GRU(D, H, batch_first=True)}
    default_threads = set_threads()
    rows = []
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        for name, layer in models.items():
            med, best = median_seconds(fused_step(layer, X))
            rows.append({"model": name, "threads": threads, "ms_per_batch": med * 1e3, "best_ms": best * 1e3,
                         "parameters": sum(p.numel() for p in layer.parameters())})
        med, best = median_seconds(scratch_step(exercises.lstm_forward, models["nn.LSTM"], X), repeats=max(3, REPEATS // 2))
        rows.append({"model": "scratch LSTM (notebook 03)", "threads": threads, "ms_per_batch": med * 1e3,
                     "best_ms": best * 1e3, "parameters": sum(p.numel() for p in models["nn.LSTM"].parameters())})
    for row in rows:
        lstm = next(r for r in rows if r["model"] == "nn.LSTM" and r["threads"] == row["threads"])
        row["relative_to_nn_lstm"] = row["ms_per_batch"] / lstm["ms_per_batch"]
    save("cells", rows, notes=(f"Forward + backward of one batch, N={N}, T={T}, D={D}, H={H}, float32, one layer, "
                               f"median of {REPEATS} batches (scratch: {max(3, REPEATS // 2)}). torch {torch.__version__}. "
                               "Times on a shared machine are pessimistic; compare within one run."))


if __name__ == "__main__":
    main()
