"""Doctor AI (notebook 06): recall@10/20/30 and R² of log-days for the model, the baselines and the oracle,
over 3 seeds of the synthetic cohort, plus the transfer gain (hospital A → small hospital B).

The notebook is the single source of every function used here: ``load_exercises`` gives its exercise
solutions (``recall_at_k``, ...) and the notebook's other definition cells (model, batching, baselines,
training) are executed from the notebook file, so there is no second copy to drift.

Usage: .venv/bin/python benchmarks/bench_doctor_ai.py [--seeds 0 1 2] [--patients 3000]
"""
from __future__ import annotations

import argparse
import ast
import copy
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import save  # noqa: E402
from labutils.exercises import load_exercises, notebook_path  # noqa: E402

NOTEBOOK = "06_doctor_ai"


def _is_constant(node) -> bool:
    """``KS = (1, 3, 5)``: a top-level assignment of a literal (used as a default argument)."""
    if not isinstance(node, ast.Assign):
        return False
    try:
        ast.literal_eval(node.value)
        return True
    except ValueError:
        return False


def notebook_definitions() -> dict:
    """The notebook's exercise solutions plus every function/class/import/literal constant defined at the top
    level of its other code cells (statements that run experiments are skipped)."""
    namespace = dict(vars(load_exercises(NOTEBOOK)))
    nb = nbformat.read(notebook_path(NOTEBOOK), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader"):
            continue
        keep = [node for node in ast.parse(cell.source).body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)) or _is_constant(node)]
        exec(compile(ast.Module(body=keep, type_ignores=[]), f"{NOTEBOOK}:definitions", "exec"), namespace)
    namespace["DEVICE"] = torch.device("cpu")
    return namespace


def r2_log_days(pred, log_days, mean_train_days):
    """Design doc A: R² = 1 − Σ(log d − pred)² / Σ(log d − log mean_train_days)²."""
    return float(1 - np.sum((log_days - pred) ** 2) / np.sum((log_days - np.log(mean_train_days)) ** 2))


def run_seed(nb: dict, seed: int, n_patients: int, epochs: int, n_transfer: int) -> list[dict]:
    torch.manual_seed(seed)
    synth = nb["generate_cohort"](n_patients, seed=seed)
    task = nb["doctor_ai_task"](synth, seed=seed)
    train_ids = task.cohort.patients["patient_id"][task.split == "train"]
    input_vocab = nb["build_vocabulary"](task.cohort.subset(train_ids), prefixes=None)
    label_vocab = task.vocab
    patients = nb["prepare_cohort"](task.cohort, input_vocab, label_vocab)
    split = {s: [p for p, t in zip(patients, task.split) if t == s] for s in ("train", "val", "test")}
    D, C = len(input_vocab), len(label_vocab)
    test = split["test"]
    rate, mean_log_days = nb["label_rates"](split["train"], C)

    start = time.perf_counter()
    model = nb["DoctorAI"](D, C)
    nb["start_from_base_rates"](model, split["train"])
    history = nb["train_doctor_ai"](model, split["train"], split["val"], epochs=epochs)
    train_seconds = time.perf_counter() - start
    probs, log_days_pred = nb["predict_patients"](model, test)

    scores = nb["baseline_scores"](test, rate)
    test_index = np.flatnonzero(task.split == "test")
    scores["oracle"] = [task.oracle_next[i] for i in test_index]
    scores["Doctor AI (GRU)"] = probs
    table = nb["recall_table"](scores, test, C, ks=(5, 10, 20, 30))

    mean_train_days = float(np.mean([d for p in split["train"] for d in p["days_next"]]))
    log_days = np.log(np.maximum(np.concatenate([p["days_next"] for p in test]), 1.0))
    r2 = {"Doctor AI (GRU)": r2_log_days(np.concatenate(log_days_pred), log_days, mean_train_days),
          "oracle": r2_log_days(np.concatenate([task.oracle_log_gap[i] for i in test_index]), log_days, mean_train_days),
          "global frequency": r2_log_days(np.full_like(log_days, mean_log_days), log_days, mean_train_days)}
    rows = [{"seed": seed, "method": name, **table.loc[name].to_dict(), "R2_log_days": r2.get(name, np.nan),
             "epochs": len(history) if name.startswith("Doctor") else np.nan,
             "train_s": train_seconds if name.startswith("Doctor") else np.nan} for name in table.index]

    # transfer: the same seed's model from hospital A, n_transfer patients of hospital B
    synth_b = nb["generate_cohort"](max(4 * n_transfer, 1500), seed=seed + 100, hospital="B")
    task_b = nb["doctor_ai_task"](synth_b, seed=seed + 100)
    patients_b = nb["prepare_cohort"](task_b.cohort, input_vocab, label_vocab)
    split_b = {s: [p for p, t in zip(patients_b, task_b.split) if t == s] for s in ("train", "val", "test")}
    train_b = split_b["train"][:n_transfer]
    alone = nb["DoctorAI"](D, C)
    nb["start_from_base_rates"](alone, train_b)
    nb["train_doctor_ai"](alone, train_b, split_b["val"], epochs=20)
    tuned = copy.deepcopy(model)
    nb["train_doctor_ai"](tuned, train_b, split_b["val"], epochs=20, lr=1e-3)
    transfer = {f"B alone (n={n_transfer})": alone, f"A → fine-tuned on B (n={n_transfer})": tuned, "A, no fine-tuning": model}
    t_scores = {name: nb["predict_patients"](m, split_b["test"])[0] for name, m in transfer.items()}
    t_scores["B patient frequency"] = nb["baseline_scores"](split_b["test"], nb["label_rates"](train_b, C)[0])["patient frequency"]
    t_table = nb["recall_table"](t_scores, split_b["test"], C, ks=(5, 10, 20, 30))
    rows += [{"seed": seed, "method": f"transfer: {name}", **t_table.loc[name].to_dict()} for name in t_table.index]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--patients", type=int, default=3000, help="as the notebook's full mode")
    parser.add_argument("--epochs", type=int, default=12, help="as the notebook's full mode")
    parser.add_argument("--transfer", type=int, default=100, help="hospital-B training patients")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    nb = notebook_definitions()
    rows = []
    for seed in args.seeds:
        rows += run_seed(nb, seed, args.patients, args.epochs, args.transfer)
        print(f"seed {seed} done", flush=True)
    import pandas as pd

    table = pd.DataFrame(rows)
    summary = table.groupby("method", sort=False).agg(["mean", "std"]).drop(columns=["seed"], level=0)
    summary.columns = [f"{a} {b}" for a, b in summary.columns]
    summary = summary.dropna(axis=1, how="all").reset_index()
    by = table.pivot_table(index="seed", columns="method", values="recall@30")
    by10 = table.pivot_table(index="seed", columns="method", values="recall@10")
    notes = (f"{len(args.seeds)} seeds, {args.patients} patients, ≤ {args.epochs} epochs (early stopping), 1 CPU thread. "
             f"recall@30: model − patient frequency = {np.round((by['Doctor AI (GRU)'] - by['patient frequency']).values, 4).tolist()}, "
             f"oracle − model = {np.round((by['oracle'] - by['Doctor AI (GRU)']).values, 4).tolist()}; "
             f"recall@10: model − patient frequency = {np.round((by10['Doctor AI (GRU)'] - by10['patient frequency']).values, 4).tolist()}, "
             f"model − global frequency = {np.round((by10['Doctor AI (GRU)'] - by10['global frequency']).values, 4).tolist()}, "
             f"transfer gain (fine-tuned − B alone) = "
             f"{np.round((by10[f'transfer: A → fine-tuned on B (n={args.transfer})'] - by10[f'transfer: B alone (n={args.transfer})']).values, 4).tolist()}.")
    save("doctor_ai", summary, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
