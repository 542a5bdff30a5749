"""Forward + backward time per batch: nn.RNN, nn.LSTM, nn.GRU and notebook 03's scratch LSTM and GRU.

Size: one layer, batch N = 64 sequences of T = 100 steps, D = 32 inputs, H = 128 hidden units,
float32, CPU, loss = sum of all outputs. The scratch cells are the notebook's own ``lstm_forward``
(the exercise solution, a Python loop over ``lstm_cell``) and ``gru_forward`` (a library cell, a loop
over ``gru_cell``), imported with ``labutils.notebook_code.load_notebook``, run on the weights of the
same ``nn.LSTM`` / ``nn.GRU``. Each figure is the median of REPEATS timed batches after one warm-up
batch, at 1 thread and at the default thread count.

Usage, from the repository root: ``python -m benchmarks.bench_cells`` (about a minute on an idle
2-core CPU; in FAST mode T = 30 and fewer repeats, a smoke test).
"""
from __future__ import annotations

import torch
from torch import nn

from benchmarks.common import save, timed
from labutils.config import pick, set_threads
from labutils.notebook_code import load_notebook

N, T, D, H = 64, pick(30, 100), 32, 128
REPEATS = pick(3, 10)


def median_ms(step, repeats: int) -> float:
    """Median milliseconds of ``step()`` over ``repeats`` runs, after one warm-up run."""
    step()
    return timed(step, repeat=repeats)[1] * 1e3


def fused_step(layer: nn.Module, X: torch.Tensor):
    def step():
        layer.zero_grad(set_to_none=True)
        layer(X)[0].sum().backward()
    return step


def scratch_step(forward, layer: nn.Module, X: torch.Tensor, *initial_states):
    weights = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]

    def step():
        layer.zero_grad(set_to_none=True)
        forward(X, *initial_states, *weights)[0].sum().backward()
    return step


def main() -> None:
    nb = load_notebook("03_lstm_gru")
    torch.manual_seed(0)
    X = torch.randn(N, T, D)
    zeros = torch.zeros(N, H)
    layers = {"nn.RNN (tanh)": nn.RNN(D, H, batch_first=True), "nn.LSTM": nn.LSTM(D, H, batch_first=True),
              "nn.GRU": nn.GRU(D, H, batch_first=True)}
    steps = {name: fused_step(layer, X) for name, layer in layers.items()}
    steps["scratch LSTM (notebook 03 lstm_forward)"] = scratch_step(nb.lstm_forward, layers["nn.LSTM"], X, zeros, zeros)
    steps["scratch GRU (notebook 03 gru_forward)"] = scratch_step(nb.gru_forward, layers["nn.GRU"], X, zeros)
    parameters = {name: sum(p.numel() for p in layer.parameters()) for name, layer in layers.items()}
    parameters["scratch LSTM (notebook 03 lstm_forward)"] = parameters["nn.LSTM"]
    parameters["scratch GRU (notebook 03 gru_forward)"] = parameters["nn.GRU"]
    rows = []
    for threads in sorted({1, set_threads()}):
        torch.set_num_threads(threads)
        for name, step in steps.items():
            repeats = REPEATS if name.startswith("nn.") else max(3, REPEATS // 2)
            rows.append({"model": name, "threads": threads, "ms_per_batch": median_ms(step, repeats),
                         "parameters": parameters[name]})
    for row in rows:
        lstm = next(r for r in rows if r["model"] == "nn.LSTM" and r["threads"] == row["threads"])
        row["relative_to_nn_lstm"] = row["ms_per_batch"] / lstm["ms_per_batch"]
    save("cells", rows, notes=(f"Forward + backward of one batch, N={N}, T={T}, D={D}, H={H}, float32, one layer, "
                               f"median of {REPEATS} batches (scratch: {max(3, REPEATS // 2)}). torch {torch.__version__}. "
                               "Times on a shared machine are pessimistic; compare within one run."))


if __name__ == "__main__":
    main()
