"""Doctor AI (notebook 06) over several seeds, at the notebook's full-mode settings: recall@k and R² of
log-days for the model, the baselines and the oracle; the memory probe's four figures; the transfer gain
of hospital A's model fine-tuned on a small hospital B.

Every function comes from the notebook itself, through ``labutils.notebook_code.load_notebook``: its
exercise solutions and its cells tagged ``library``. The full-mode thresholds of the notebook's
assertions are read against the spread measured here.

Usage (repository root): ``python -m benchmarks.bench_doctor_ai [--seeds 0 1 2] [--patients 3000]``
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import torch

from benchmarks.common import mean_spread, save, timed
from labutils.config import set_threads
from labutils.notebook_code import load_notebook

MODEL = "Doctor AI (GRU)"


def evaluate_seed(nb, seed: int, n_patients: int, epochs: int, n_transfer: int) -> tuple[list[dict], dict]:
    """One synthetic hospital A (and B): per-method rows and the seed's headline figures."""
    task, input_vocab, label_vocab, split = nb.synthetic_doctor_ai(n_patients, seed)
    n_labels, test = len(label_vocab), split["test"]
    test_index = np.flatnonzero(task.split == "test")
    rate, mean_log_days = nb.label_rates(split["train"], n_labels)

    torch.manual_seed(seed)
    model = nb.DoctorAI(len(input_vocab), n_labels)
    nb.start_from_base_rates(model, split["train"])
    history, train_seconds = timed(nb.train_doctor_ai, model, split["train"], split["val"], epochs=epochs)
    probs, log_days_pred = nb.predict_patients(model, test)

    scores = nb.baseline_scores(test, rate)
    scores["oracle"] = [task.oracle_next[i] for i in test_index]
    scores[MODEL] = probs
    table = nb.recall_table(scores, test, n_labels, ks=(5, 10, 20, 30))
    se_counting = nb.se_of_difference(probs, scores["patient frequency"], test, n_labels, k=10)

    mean_train_days = float(np.mean([d for p in split["train"] for d in p["days_next"]]))
    log_days = np.log(np.maximum(np.concatenate([p["days_next"] for p in test]), 1.0))
    r2 = {MODEL: nb.r2_log_days(np.concatenate(log_days_pred), log_days, mean_train_days),
          "oracle": nb.r2_log_days(np.concatenate([task.oracle_log_gap[i] for i in test_index]), log_days,
                                   mean_train_days),
          "global frequency": nb.r2_log_days(np.full_like(log_days, mean_log_days), log_days, mean_train_days)}
    rows = [{"seed": seed, "method": name, **table.loc[name].to_dict(), "R2_log_days": r2.get(name, np.nan)}
            for name in table.index]

    kinds = nb.group_kinds(label_vocab, rate)
    probe = nb.top_k_hits_by_recency({m: scores[m] for m in (MODEL, "patient frequency")}, test, kinds, n_labels)
    figures = {"seed": seed, "epochs run": len(history), "train s": train_seconds,
               "recall@10 counting − model": table.loc["patient frequency", "recall@10"] - table.loc[MODEL, "recall@10"],
               "… in SE": (table.loc["patient frequency", "recall@10"] - table.loc[MODEL, "recall@10"]) / se_counting,
               "recall@10 model − last visit": table.loc[MODEL, "recall@10"] - table.loc["last visit", "recall@10"],
               **{f"probe {k}": v for k, v in nb.probe_summary(probe).items()}}

    task_b, _, _, split_b = nb.synthetic_doctor_ai(2000, seed + 1, hospital="B", input_vocab=input_vocab,
                                                   label_vocab=label_vocab)
    alone, tuned = nb.transfer_models(model, split_b["train"][:n_transfer], split_b["val"], epochs=epochs, seed=seed)
    transfer = {"B alone": alone, "A → fine-tuned on B": tuned, "A, no fine-tuning": model}
    t_scores = {name: nb.predict_patients(m, split_b["test"])[0] for name, m in transfer.items()}
    t_table = nb.recall_table(t_scores, split_b["test"], n_labels, ks=(10, 30))
    figures["transfer gain, recall@10"] = t_table.loc["A → fine-tuned on B", "recall@10"] - t_table.loc["B alone", "recall@10"]
    rows += [{"seed": seed, "method": f"transfer (n={n_transfer}): {name}", **t_table.loc[name].to_dict()}
             for name in t_table.index]
    return rows, figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--patients", type=int, default=3000, help="hospital A, as the notebook's full mode")
    parser.add_argument("--epochs", type=int, default=12, help="as the notebook's full mode")
    parser.add_argument("--transfer", type=int, default=100, help="hospital-B training patients")
    args = parser.parse_args(argv)
    set_threads(1)
    nb = load_notebook("06_doctor_ai")
    rows, figures = [], []
    for seed in args.seeds:
        seed_rows, seed_figures = evaluate_seed(nb, seed, args.patients, args.epochs, args.transfer)
        rows += seed_rows
        figures.append(seed_figures)
        print(f"seed {seed} done ({seed_figures['train s']:.0f} s of training)", flush=True)
    table = pd.DataFrame(rows)
    summary = table.drop(columns="seed").groupby("method", sort=False).agg(mean_spread).reset_index()
    per_seed = pd.DataFrame(figures)
    print(per_seed.round(4).to_string(index=False))
    notes = (f"{len(args.seeds)} seeds, {args.patients} patients, ≤ {args.epochs} epochs (early stopping), 1 CPU thread; "
             "mean ± sd over seeds. Per seed: "
             + "; ".join(f"{c}: {mean_spread(per_seed[c])}" for c in per_seed.columns if c != "seed") + ".")
    save("doctor_ai", summary, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
