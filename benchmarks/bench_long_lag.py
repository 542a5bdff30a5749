"""Accuracy vs lag on the marked-symbol memory task for a vanilla RNN, an LSTM and a GRU.

Every run is ``labutils.memory_tasks.train_memory_model``, the runner notebooks 02 and 03 use, with
its defaults: 32 hidden units, Adam with learning rate 3e-3, batch 128, gradients clipped to norm 1,
6 epochs × 50 updates, test accuracy on 1024 fresh sequences (chance 0.25), seed 2. The LSTM is run
twice: with its forget/input gate biases set to (5, −2) as in the notebooks, and with PyTorch's
default biases, to show how much the start matters.

Writes build/bench/long_lag.{json,md} (table) and build/bench/long_lag.png (figure).
Usage, from the repository root: ``python -m benchmarks.bench_long_lag [LAG ...]``
(default lags 5 20 40 60 100; in FAST mode lags 5 20 and 3 epochs, a smoke test).
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import bench_dir, save, timed  # noqa: E402
from labutils.config import pick  # noqa: E402
from labutils.memory_tasks import train_memory_model  # noqa: E402
from labutils.models import set_lstm_gate_biases  # noqa: E402

EPOCHS = pick(3, 6)
CHANCE = 0.25


def open_gates(model) -> None:
    set_lstm_gate_biases(model.rnn, forget=5.0, input=-2.0)


MODELS = {  # label: (cell, init callback)
    "rnn": ("rnn", None),
    "lstm (gate biases 5 / -2)": ("lstm", open_gates),
    "lstm (default init)": ("lstm", None),
    "gru": ("gru", None),
}


def run(label: str, lag: int) -> dict:
    cell, init = MODELS[label]
    result, seconds = timed(train_memory_model, cell, lag, epochs=EPOCHS, init=init)
    row = {"model": label, "lag": lag, "test_accuracy": result.test_accuracy,
           "final_train_loss": float(result.history["train_loss"].iloc[-1]), "seconds": seconds}
    print(f"{label:>26}, lag {lag:>3}: accuracy {row['test_accuracy']:.3f} ({seconds:.0f} s)", flush=True)
    return row


def figure(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label in MODELS:
        points = [(r["lag"], r["test_accuracy"]) for r in rows if r["model"] == label]
        ax.plot(*zip(*points), marker="o", label=label)
    ax.axhline(CHANCE, color="grey", ls="--", label="chance (1/4)")
    ax.set(xlabel="lag (steps between the marked symbol and the answer)", ylabel="test accuracy",
           title=f"Marked-symbol task, {EPOCHS * 50} updates, 32 hidden units", ylim=(0, 1.05))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)  # tiny recurrent models: one thread is fastest
    # run_all passes its own arguments (benchmark names) through: only numbers are lags
    lags = [int(a) for a in argv if a.isdigit()] or pick([5, 20], [5, 20, 40, 60, 100])
    rows = [run(label, lag) for lag in lags for label in MODELS]
    save("long_lag", rows, notes=(
        "Marked-symbol task (labutils.memory_tasks.train_memory_model: 4 classes, 8 symbols + marker, 32 hidden "
        f"units, Adam lr 3e-3, batch 128, {EPOCHS} epochs x 50 updates, clip norm 1, seed 2); test accuracy on 1024 "
        "fresh sequences, chance 0.25. Figure: long_lag.png."))
    figure(rows, bench_dir() / "long_lag.png")


if __name__ == "__main__":
    main(sys.argv[1:])
