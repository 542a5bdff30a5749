"""Seizure classification on the real UCI data (notebook 04): classical EEG baselines vs recurrent models.

For each seed: a recording-grouped split (20 % of the recordings for test, 15 % of the rest for
validation), then five-class accuracy, recording-level accuracy (mean probability over a recording's
23 chunks), seizure-vs-rest AUROC and training seconds for
- logistic regression, gradient boosting and a random forest on the notebook's 15 EEG features;
- the notebook's conv front end + bidirectional GRU, and the same with an LSTM of equal parameter count;
plus the leak as notebook 04 shows it: 1-nearest-neighbour accuracy on a random row split minus on the
grouped split. Every model, feature and training function is notebook 04's own, imported with
``load_notebook``; this file only loops over seeds. Without the real file in the data directory
(``LABUTILS_DATA``, default ``data/``) it says so and stops.

Usage: python -m benchmarks.bench_seizure [--epochs N] [--seeds 0 1 2] [--models gru lstm]
(full mode: 30 epochs, 3 seeds; FAST mode, LABUTILS_FAST=1: a 2-epoch, 1-seed smoke test)
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import RandomForestClassifier

from benchmarks.common import mean_spread, save
from labutils.config import data_dir, pick, set_threads
from labutils.metrics import binary_report
from labutils.notebook_code import load_notebook
from labutils.seizure import SAMPLING_RATE_HZ, find_seizure_file, read_seizure_file

NB = "04_seizure_classification"


def classical_rows(nb, features, data, train_idx, test_idx, seed):
    models = {**nb.classical_models(seed),
              "random forest": RandomForestClassifier(300, min_samples_leaf=2, random_state=seed, n_jobs=1)}
    rows = []
    for name, model in models.items():
        probabilities, seconds = nb.fit_classical(model, features, data.labels, train_idx, test_idx)
        rows.append({"model": name, **nb.scores(probabilities, data.labels[test_idx], data.recordings[test_idx]),
                     "train_s": seconds})
    return rows


def neural_rows(nb, inputs, targets, data, train_idx, test_idx, seed, epochs, cells):
    fit_part, val_part = nb.grouped_split(data.recordings[train_idx], 0.15, seed)
    fit_idx, val_idx = train_idx[fit_part], train_idx[val_part]
    gru_size = nb.n_parameters(nb.ConvBiRNN("gru"))
    hidden = {"gru": nb.ConvBiRNN("gru").rnn_forward.hidden_size, "lstm": nb.matched_hidden("lstm", gru_size)}
    rows = []
    for cell in cells:
        model, history, seconds = nb.train_classifier(lambda: nb.ConvBiRNN(cell, hidden[cell]), inputs, targets,
                                                      fit_idx, val_idx, epochs, seed=seed, progress=False)
        probabilities = nb.class_probabilities(model, inputs, targets, test_idx)
        y = data.labels[test_idx]
        report = binary_report(y == 0, probabilities[:, 0], n_boot=200, seed=seed)
        rows.append({"model": f"conv + bidirectional {cell.upper()}",
                     **nb.scores(probabilities, y, data.recordings[test_idx]), "train_s": seconds,
                     "sens_at_95spec": report["sens_at_95spec"], "best_epoch": history.attrs["best_epoch"],
                     "parameters": nb.n_parameters(model)})
    return rows


def leak_row(nb, spectra, data, train_idx, test_idx, seed):
    random_train, random_test = nb.random_row_split(len(data.labels), len(test_idx), seed)
    grouped, _ = nb.nearest_neighbour_test(spectra, data.labels, data.recordings, train_idx, test_idx)
    leaky, own = nb.nearest_neighbour_test(spectra, data.labels, data.recordings, random_train, random_test)
    return {"model": "1-NN leak (random − grouped)", "accuracy": leaky - grouped, "neighbour_own_recording": own}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=pick(2, 30))
    parser.add_argument("--seeds", type=int, nargs="+", default=pick([0], [0, 1, 2]))
    parser.add_argument("--models", nargs="+", default=["gru", "lstm"], choices=["gru", "lstm"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)

    path = find_seizure_file(data_dir())
    if path is None:
        print(f"bench_seizure: skipped: the real file is not in {data_dir()} (see data/README.md to get it).")
        return 0
    data = read_seizure_file(path, verify=True)
    nb = load_notebook(NB)
    features = nb.eeg_features(data.signals, SAMPLING_RATE_HZ)
    spectra = nb.spectrum_and_offset(data.signals, SAMPLING_RATE_HZ)
    inputs = torch.tensor(data.signals, dtype=torch.float32).unsqueeze(-1)
    targets = torch.tensor(data.labels)

    rows = []
    for seed in args.seeds:
        train_idx, test_idx = nb.grouped_split(data.recordings, 0.2, seed)
        assert not set(data.recordings[train_idx]) & set(data.recordings[test_idx])
        seed_rows = (classical_rows(nb, features, data, train_idx, test_idx, seed)
                     + neural_rows(nb, inputs, targets, data, train_idx, test_idx, seed, args.epochs, args.models)
                     + [leak_row(nb, spectra, data, train_idx, test_idx, seed)])
        for row in seed_rows:
            row["seed"] = seed
            print({k: round(float(v), 4) if isinstance(v, (float, np.floating)) else v for k, v in row.items()},
                  flush=True)
        rows += seed_rows

    runs = pd.DataFrame(rows)
    summary = runs.groupby("model", sort=False).agg(
        **{column: (column, mean_spread) for column in ("accuracy", "recording accuracy", "seizure AUROC", "train_s")
           if column in runs})
    per_seed = runs.pivot_table(index="seed", columns="model", values="accuracy")
    neural = [c for c in per_seed if c.startswith("conv")]
    classical = ["logistic regression", "gradient boosting", "random forest"]
    margin = per_seed[neural].max(axis=1) - per_seed[classical].max(axis=1)
    notes = (f"Real UCI data ({path.name}); per seed a recording-grouped split: 20 % of the 500 recordings for "
             f"test, 15 % of the rest for validation (best epoch). Neural models: {args.epochs} epochs, one-cycle "
             f"schedule, AdamW, augmentation, {args.threads} CPU thread(s). Seeds {args.seeds}. Best recurrent − "
             f"best classical accuracy per seed: {', '.join(f'{m:+.3f}' for m in margin)} "
             f"(mean {margin.mean():+.3f}). Aims: best recurrent ≥ 0.80 mean and ≥ best classical + 0.02; "
             f"seizure AUROC ≥ 0.997; < 2 min of training per model.")
    save("seizure", summary.reset_index().replace("nan ± nan", ""), notes)
    save("seizure_runs", runs, "one row per model and seed (the table above is their mean ± sd)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
