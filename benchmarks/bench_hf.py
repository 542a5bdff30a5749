"""Heart-failure onset (notebook 05): test AUROC of the oracle, count models and GRUs over several seeds.

Designs: the case-control cohort of Choi et al. (2017) with an 18-month observation window and a prediction
window of P = 0 or 6 months, plus a cohort simulated with ``order_effects=False`` (P = 0). Models: the oracle
(latent-state likelihood ratio), LR and MLP on log counts, LR on log counts in three time bins (hand-made recency),
the GRU on visits, with time features, and on shuffled visits. All the model code is the notebook's own, imported
with ``load_notebook("05_heart_failure")`` (its exercise solutions and ``library`` cells, vocabulary included);
this file only loops over seeds and designs. The margins it saves are the ones notebook 05 may assert in full
mode.

Usage: python -m benchmarks.bench_hf [N_PATIENTS] [SEEDS]
(full mode: the notebook's 20,000 patients and 3 seeds, about 1.5 min per seed on an idle 2-core machine; FAST
mode, LABUTILS_FAST=1: the notebook's FAST size, 4,000 patients, and 1 seed, a smoke test of about 20 s)
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from benchmarks.common import save, timed
from labutils import ehr
from labutils.config import pick, set_threads
from labutils.notebook_code import load_notebook

P0, P6, FLAT = "P=0", "P=6", "P=0 no order effects"
BINS = "LR (counts in 3 time bins)"


def gru_row(nb, data, n_time: int, seed: int) -> dict:
    """Train the notebook's GRU on ``data``; its test AUROC, epochs and seconds."""
    loaders = nb.make_loaders(data, nb.multi_hot_visits, seed=seed)
    (model, history), seconds = timed(nb.train_gru, loaders, data["n_codes"], n_time=n_time, seed=seed)
    test = np.flatnonzero(data["split"] == "test")
    scores = nb.gru_scores(model, loaders["test"], len(data["y"]))[test]
    return {"auroc": roc_auc_score(data["y"][test], scores), "epochs": len(history), "seconds": round(seconds, 1)}


def design_rows(nb, source, design: str, pred_months: int, seed: int) -> list[dict]:
    """Every model of one design and seed (the variants of notebook 05's sections 5 and 7)."""
    task = ehr.hf_case_control(source, obs_months=18, pred_months=pred_months, seed=seed)
    vocab = nb.make_vocabulary(task)
    data = nb.visit_data(task, vocab)
    test = np.flatnonzero(data["split"] == "test")
    y = data["y"][test]
    base = {"seed": seed, "design": design, "cases_test": int(y.sum()), "samples_test": len(y),
            "vocabulary": len(vocab)}
    rows = [{**base, "model": "oracle", "auroc": roc_auc_score(y, data["oracle"][test])}]
    X, count_models = nb.fit_count_models(data, seed=seed, mlp=design == P0)
    rows += [{**base, "model": name, "auroc": roc_auc_score(y, score(X[test]))} for name, score in count_models.items()]
    X_bins = nb.binned_count_features(data)
    rows.append({**base, "model": BINS, "auroc": roc_auc_score(y, nb.fit_lr(X_bins, data["y"], data["split"])(X_bins[test]))})
    variants = [("GRU", data, 0)]
    if design in (P0, P6):
        variants.append(("GRU + time", data, 2))
    if design == P0:
        variants.append(("GRU, shuffled visits", nb.visit_data(task, vocab, shuffle_visits=True, seed=seed), 0))
    rows += [{**base, "model": name, **gru_row(nb, d, n_time, seed)} for name, d, n_time in variants]
    print(f"seed {seed} {design}: " + ", ".join(f"{r['model']} {r['auroc']:.3f}" for r in rows), flush=True)
    return rows


def one_seed(nb, n_patients: int, seed: int) -> list[dict]:
    synth = ehr.generate_cohort(n_patients, seed=seed)
    rows = design_rows(nb, synth, P0, 0, seed) + design_rows(nb, synth, P6, 6, seed)
    flat = ehr.generate_cohort(n_patients, seed=seed, order_effects=False)
    return rows + design_rows(nb, flat, FLAT, 0, seed)


def margins(raw: pd.DataFrame) -> pd.DataFrame:
    """Per-seed differences the notebook may assert on, with mean, sd, min and max over seeds."""
    a = raw.pivot_table(index="seed", columns=["design", "model"], values="auroc")
    gap = {d: a[d, "GRU"] - a[d, "LR (counts)"] for d in (P0, P6, FLAT)}
    diffs = {
        "P=0: GRU − LR": gap[P0],
        "P=0: GRU+time − LR": a[P0, "GRU + time"] - a[P0, "LR (counts)"],
        "P=0: GRU − GRU shuffled": a[P0, "GRU"] - a[P0, "GRU, shuffled visits"],
        "P=0: LR bins − LR": a[P0, BINS] - a[P0, "LR (counts)"],
        "P=0: GRU − LR bins": a[P0, "GRU"] - a[P0, BINS],
        "P=0: oracle − GRU": a[P0, "oracle"] - a[P0, "GRU"],
        "P=0: oracle − best model": a[P0, "oracle"] - a[P0].drop(columns="oracle").max(axis=1),
        "P=6: oracle − best model": a[P6, "oracle"] - a[P6].drop(columns="oracle").max(axis=1),
        "no order effects: oracle − best model": a[FLAT, "oracle"] - a[FLAT].drop(columns="oracle").max(axis=1),
        "P=6: GRU − LR": gap[P6],
        "P=6: LR bins − LR": a[P6, BINS] - a[P6, "LR (counts)"],
        "(P=0 − P=6) GRU−LR gap": gap[P0] - gap[P6],
        "no order effects: GRU − LR": gap[FLAT],
        "no order effects: LR bins − LR": a[FLAT, BINS] - a[FLAT, "LR (counts)"],
    }
    return pd.DataFrame([{"margin": k, "mean": v.mean(), "sd": v.std(ddof=1) if len(v) > 1 else float("nan"),
                          "min": v.min(), "max": v.max(), "per_seed": " ".join(f"{x:+.3f}" for x in v)}
                         for k, v in diffs.items()])


def main(argv: list[str]) -> None:
    set_threads(1)          # as in the notebook: one thread for PyTorch and for NumPy/scikit-learn's BLAS
    threadpool_limits(1)
    nb = load_notebook("05_heart_failure")
    n_patients = int(argv[0]) if argv else pick(4_000, 20_000)   # the notebook's size in each mode
    seeds = list(range(int(argv[1]) if len(argv) > 1 else pick(1, 3)))
    raw, seconds = timed(lambda: pd.DataFrame([row for seed in seeds for row in one_seed(nb, n_patients, seed)]))
    summary = (raw.groupby(["design", "model"], sort=False)["auroc"]
               .agg(mean="mean", sd="std", min="min", max="max").reset_index())
    notes = (f"{n_patients:,} simulated patients per seed, seeds {seeds}, 18-month observation window, test split "
             f"20 % by patient; {seconds:.0f} s in total. Models and training are notebook 05's own code.")
    save("hf_auroc", summary, notes)
    save("hf_margins", margins(raw), "Differences of test AUROC per seed (positive = first model better).")
    save("hf_raw", raw, "One row per seed, design and model.")


if __name__ == "__main__":
    main(sys.argv[1:])
