"""Accuracy vs lag on the marked-symbol memory task for a vanilla RNN, an LSTM and a GRU.

The same setting as notebook 02, section 4, in its full-mode budget: 32 hidden units, Adam with
learning rate 3e-3, batch 128, gradients clipped to norm 1, 6 epochs × 50 updates, test accuracy on
1024 fresh sequences (chance 0.25). The LSTM is run twice: with its forget/input gate biases set to
(5, −2) as in the notebook, and with PyTorch's default biases, to show how much the start matters.

Writes build/bench/long_lag.{json,md} (table) and build/bench/long_lag.png (figure).
Usage: python benchmarks/bench_long_lag.py [LAG ...]     (default lags: 5 20 40 60 100)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from benchmarks.common import BENCH_DIR, save  # noqa: E402
from labutils.config import seed_everything  # noqa: E402
from labutils.models import SequenceClassifier, set_lstm_gate_biases  # noqa: E402
from labutils.memory_tasks import marked_symbol_task  # noqa: E402
from labutils.training import fit, predict  # noqa: E402

N_CLASSES, N_DISTRACTORS, N_HIDDEN = 4, 4, 32
N_TRAIN, N_TEST, BATCH, EPOCHS, LR = 6400, 1024, 128, 6, 3e-3
MODELS = {  # label: (cell, LSTM gate biases or None)
    "rnn": ("rnn", None),
    "lstm (gate biases 5 / -2)": ("lstm", (5.0, -2.0)),
    "lstm (default init)": ("lstm", None),
    "gru": ("gru", None),
}


def data(lag: int, n: int, seed: int) -> TensorDataset:
    X, y = marked_symbol_task(n, lag, N_CLASSES, N_DISTRACTORS, seed=seed)
    return TensorDataset(torch.from_numpy(X), torch.from_numpy(y))


def accuracy(logits, y) -> float:
    return (logits.argmax(1) == y).float().mean().item()


def run(label: str, lag: int, seed: int = 2) -> dict:
    cell, biases = MODELS[label]
    seed_everything(seed)
    train = DataLoader(data(lag, N_TRAIN, 100 + lag), batch_size=BATCH, shuffle=True)
    val = DataLoader(data(lag, N_TEST, 200 + lag), batch_size=N_TEST)
    model = SequenceClassifier(cell, N_CLASSES + N_DISTRACTORS + 1, N_HIDDEN, N_CLASSES)
    if biases:
        set_lstm_gate_biases(model.rnn, forget=biases[0], input=biases[1])
    start = time.perf_counter()
    history = fit(model, train, F.cross_entropy, torch.optim.Adam(model.parameters(), lr=LR), EPOCHS,
                  val_loader=val, metrics={"accuracy": accuracy}, clip_norm=1.0, progress=False)
    seconds = time.perf_counter() - start
    test = DataLoader(data(lag, N_TEST, 300 + lag), batch_size=N_TEST)
    row = {"model": label, "lag": lag, "test_accuracy": accuracy(*predict(model, test)),
           "final_train_loss": history["train_loss"].iloc[-1], "seconds": seconds}
    print(f"{label:>26}, lag {lag:>3}: accuracy {row['test_accuracy']:.3f} ({seconds:.0f} s)", flush=True)
    return row


def figure(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label in MODELS:
        points = [(r["lag"], r["test_accuracy"]) for r in rows if r["model"] == label]
        ax.plot(*zip(*points), marker="o", label=label)
    ax.axhline(1 / N_CLASSES, color="grey", ls="--", label="chance (1/4)")
    ax.set(xlabel="lag (steps between the marked symbol and the answer)", ylabel="test accuracy",
           title=f"Marked-symbol task, {EPOCHS * N_TRAIN // BATCH} updates, {N_HIDDEN} hidden units", ylim=(0, 1.05))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)  # tiny recurrent models: one thread is fastest
    lags = [int(a) for a in argv] or [5, 20, 40, 60, 100]
    rows = [run(label, lag) for lag in lags for label in MODELS]
    save("long_lag", rows, notes=(
        f"Marked-symbol task (labutils.memory_tasks.marked_symbol_task, 4 classes, 8 symbols + marker), {N_HIDDEN} hidden "
        f"units, Adam lr {LR}, batch {BATCH}, {EPOCHS} epochs x {N_TRAIN // BATCH} updates, clip norm 1, seed 2; "
        f"test accuracy on {N_TEST} fresh sequences, chance 0.25. Figure: build/bench/long_lag.png."))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    figure(rows, BENCH_DIR / "long_lag.png")


if __name__ == "__main__":
    main(sys.argv[1:])
