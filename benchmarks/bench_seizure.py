"""Seizure classification on the real UCI data (notebook 04): five-class accuracy, seizure-vs-rest
AUROC/AUPRC/sensitivity at 95 % specificity and training time, on a recording-grouped split and, beside
it, a random row split of the same size; 3 seeds.

The model is notebook 04's "conv front end + GRU" (strided convolutions → 22 steps → GRU); the split and
the exercise functions come from the notebook itself (``load_exercises``). The real data is read from
the data directory or from ../shared/data/seizure; without it the benchmark says so and stops.

Usage: .venv/bin/python benchmarks/bench_seizure.py [--epochs 15] [--seeds 0 1 2] [--threads 1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.common import save  # noqa: E402
from labutils import seed_everything  # noqa: E402
from labutils.exercises import load_exercises  # noqa: E402
from labutils.metrics import binary_report  # noqa: E402
from labutils.seizure import find_seizure_file, read_seizure_file  # noqa: E402
from labutils.config import data_dir  # noqa: E402
from labutils.training import fit, predict  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "seizure"


def conv_block(n_in, n_out, kernel):
    return nn.Sequential(nn.Conv1d(n_in, n_out, kernel, stride=2, padding=kernel // 2),
                         nn.BatchNorm1d(n_out), nn.ReLU())


class ConvGRU(nn.Module):
    """Notebook 04's conv front end + GRU (kept in step with the notebook's cell)."""

    def __init__(self, channels=16, hidden=48):
        super().__init__()
        self.front = nn.Sequential(conv_block(1, channels, 7), conv_block(channels, 2 * channels, 5),
                                   nn.MaxPool1d(2))
        self.gru = nn.GRU(2 * channels, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, 5)

    def forward(self, x):
        steps = self.front(x.transpose(1, 2)).transpose(1, 2)
        return self.readout(self.gru(steps)[0])[:, -1]


def accuracy(outputs, y):
    return (outputs.argmax(1) == y).float().mean().item()


def run(inputs, targets, recordings, train_idx, test_idx, epochs, seed, ex):
    seed_everything(seed)
    fit_part, val_part = ex.grouped_split(recordings[train_idx], 0.15, seed)
    g = torch.Generator().manual_seed(seed)

    def loader(idx, shuffle=False):
        return DataLoader(TensorDataset(inputs[idx], targets[idx]), batch_size=128, shuffle=shuffle, generator=g)

    model = ConvGRU()
    start, cpu = time.perf_counter(), time.process_time()
    fit(model, loader(train_idx[fit_part], True), F.cross_entropy, torch.optim.Adam(model.parameters(), 3e-3),
        epochs, val_loader=loader(train_idx[val_part]), metrics={"acc": accuracy}, progress=False)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    scores, y = predict(model, loader(test_idx))
    report = binary_report((y == 0).numpy(), scores.softmax(1)[:, 0].numpy(), n_boot=200, seed=seed)
    return {"accuracy": accuracy(scores, y), "auroc": report["auroc"], "auprc": report["auprc"],
            "sens_at_95spec": report["sens_at_95spec"], "train_wall_s": wall, "train_cpu_s": cpu}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    path = find_seizure_file(data_dir()) or find_seizure_file(SHARED)
    if path is None:
        print(f"bench_seizure: skipped, the real data is not in {data_dir()} nor {SHARED} (see data/README.md).")
        return 0
    data = read_seizure_file(path, verify=True)
    ex = load_exercises("04_seizure_classification")
    compressed = np.sign(data.signals) * np.log1p(np.abs(data.signals) / 100.0)  # as in the notebook
    inputs = torch.tensor(compressed, dtype=torch.float32).unsqueeze(-1)
    targets = torch.tensor(data.labels)

    rows = []
    for seed in args.seeds:
        grouped_train, grouped_test = ex.grouped_split(data.recordings, 0.2, seed)
        assert not set(data.recordings[grouped_train]) & set(data.recordings[grouped_test])
        order = np.random.default_rng(seed).permutation(len(targets))
        random_test, random_train = order[: len(grouped_test)], order[len(grouped_test):]
        for split, (tr, te) in {"grouped": (grouped_train, grouped_test), "random": (random_train, random_test)}.items():
            row = {"split": split, "seed": seed, **run(inputs, targets, data.recordings, tr, te, args.epochs, seed, ex)}
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
            rows.append(row)

    table = [{"split": split, "model": "conv front end + GRU", "epochs": args.epochs, "seeds": len(args.seeds),
              **{f"{k}_mean": np.mean([r[k] for r in rows if r["split"] == split]) for k in
                 ("accuracy", "auroc", "auprc", "sens_at_95spec", "train_wall_s", "train_cpu_s")},
              "accuracy_sd": np.std([r["accuracy"] for r in rows if r["split"] == split], ddof=1)
              if len(args.seeds) > 1 else float("nan")}
             for split in ("grouped", "random")]
    gaps = [r["accuracy"] - g["accuracy"] for r, g in zip(rows[1::2], rows[0::2])]
    notes = (f"Real UCI data ({path.name}), test = 20 % of the recordings (grouped) or as many random rows; "
             f"best epoch on 15 % of the training recordings; {args.threads} CPU thread(s). "
             f"Random − grouped accuracy per seed: {', '.join(f'{g:+.3f}' for g in gaps)}. "
             f"Targets: accuracy ≥ 0.80 and AUROC ≥ 0.995 on the grouped split. Classic lab: 2-layer GRU on "
             f"(N, 178, 1), about 0.685 on a random split after 8–20 min of CPU.")
    save("seizure", rows + table, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
