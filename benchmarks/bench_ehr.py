"""The synthetic EHR layer (labutils.ehr): generation speed, calibration, and what counts can reach.

1. Time to generate 20,000 patients (target <= 5 s on an idle 2-core machine) and the calibration figures of
   that cohort (codes per visit, gap, diagnosis groups, five-year HF incidence).
2. Time to build the HF case-control cohort and its exact oracle from that cohort.
3. Test AUROC of the oracle and of logistic regression on the heart-failure case-control cohort, with the
   counts over the whole window (notebook 05's ``fit_count_models``, imported from the notebook) and with the
   counts in 0-3 / 3-9 / 9-18-month bins before the window's end (hand-made recency features: the open
   question of notebook 05), for prediction windows of 0 and 6 months and without order effects. The GRUs
   are measured by ``bench_hf``.

Usage: python -m benchmarks.bench_ehr [N_PATIENTS] [SEEDS]
(full mode: 20,000 patients and 3 seeds; FAST mode, LABUTILS_FAST=1: 3,000 patients and 1 seed)
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from benchmarks.common import save, timed
from labutils import ehr
from labutils.config import pick, set_threads
from labutils.notebook_code import load_notebook

GENERATED = ("what", "seed", "seconds", "cpu_seconds", "codes_per_visit", "mean_gap_days", "dx_groups",
             "hf_incidence_5y", "visits_per_patient")


def generation_rows(n_patients: int, seeds) -> list[dict]:
    rows = []
    for seed in seeds:
        cpu = time.process_time()
        synth, seconds = timed(ehr.generate_cohort, n_patients, seed=seed)
        row = {"what": f"generate {n_patients} patients", "seed": seed, "seconds": seconds,
               "cpu_seconds": time.process_time() - cpu, **synth.summary()}
        rows.append({k: v for k, v in row.items() if k in GENERATED})
    return rows


def recency_bins(task, seqs, n_codes) -> np.ndarray:
    """log(1 + counts) of every code in the 0-3, 3-9 and 9-18 months before the window's end, then age and sex."""
    bins = np.zeros((len(seqs), 3, n_codes))
    for n, (visits, times) in enumerate(zip(seqs, task.cohort.times())):
        months_before = (task.window_end[n] - times) / np.timedelta64(1, "D") / 30.44
        for codes, before in zip(visits, months_before):
            bins[n, 0 if before < 3 else 1 if before < 9 else 2, codes] += 1
    static = np.column_stack([(task.age - 60) / 10, task.sex == "M"])
    return np.hstack([np.log1p(bins.reshape(len(seqs), -1)), static])


def best_lr_auroc(X, y, split) -> float:
    """Test AUROC of the logistic regression whose C has the best validation AUROC."""
    tr, va, te = (split == part for part in ("train", "val", "test"))
    fitted = [LogisticRegression(C=C, max_iter=2000).fit(X[tr], y[tr]) for C in (0.03, 0.1, 0.3)]
    best = max(fitted, key=lambda m: roc_auc_score(y[va], m.decision_function(X[va])))
    return roc_auc_score(y[te], best.decision_function(X[te]))


def design_rows(nb, synth, design: str, pred_months: int, seed: int) -> list[dict]:
    task, build_s = timed(ehr.hf_case_control, synth, obs_months=18, pred_months=pred_months, seed=seed)
    data = nb.visit_data(task, nb.make_vocabulary(task))
    y, split = data["y"], data["split"]
    test = split == "test"
    X, models = nb.fit_count_models(data, seed=seed, mlp=False)
    base = {"design": design, "seed": seed, "test_cases": int(y[test].sum()), "test_samples": int(test.sum()),
            "build_seconds": round(build_s, 1)}
    rows = [dict(base, model="oracle", auroc=roc_auc_score(y[test], data["oracle"][test])),
            dict(base, model="LR counts", auroc=roc_auc_score(y[test], models["LR (counts)"](X[test]))),
            dict(base, model="LR counts in 3 bins",
                 auroc=best_lr_auroc(recency_bins(task, data["seqs"], data["n_codes"]), y, split))]
    print(*(f"{design:>22} seed {seed} {r['model']:>20}: {r['auroc']:.3f}" for r in rows), sep="\n", flush=True)
    return rows


def main(argv: list[str]) -> None:
    set_threads(1)          # as in the notebook: one thread for PyTorch and for NumPy/scikit-learn's BLAS
    threadpool_limits(1)
    nb = load_notebook("05_heart_failure")
    n_patients = int(argv[0]) if argv else pick(3_000, 20_000)
    seeds = list(range(int(argv[1]) if len(argv) > 1 else pick(1, 3)))
    save("ehr_generate", generation_rows(20_000, seeds),
         notes="Target: 20k patients in <= 5 s on an idle machine (wall time depends on load; cpu_seconds does not); "
               "~3-4 codes/visit, mean gap 60-100 days, 250-400 3-digit groups, 5-year HF incidence 8-12 %.")
    rows = []
    for seed in seeds:
        synth = ehr.generate_cohort(n_patients, seed=seed)
        rows += design_rows(nb, synth, "W=0", 0, seed) + design_rows(nb, synth, "W=6", 6, seed)
        rows += design_rows(nb, ehr.generate_cohort(n_patients, seed=seed, order_effects=False),
                            "W=0 no order effects", 0, seed)
    table = pd.DataFrame(rows)
    mean = table.pivot_table(index="model", columns="design", values="auroc", aggfunc="mean")
    sd = table.pivot_table(index="model", columns="design", values="auroc", aggfunc="std")
    summary = mean.round(4).reset_index()
    for design in mean.columns:
        summary[f"{design} sd"] = sd[design].round(4).values if len(seeds) > 1 else np.nan
    cases = table.groupby("design")["test_cases"].mean().round(0).to_dict()
    build = table.groupby("design")["build_seconds"].mean().round(1).to_dict()
    save("ehr_hf_counts", summary, notes=f"{n_patients} patients per cohort, seeds {seeds}; mean test AUROC (sd over "
                                         f"seeds). Test cases per seed: {cases}; seconds to build the case-control "
                                         f"cohort with its oracle: {build}.")
    save("ehr_hf_counts_runs", table, notes="Every run of ehr_hf_counts.")


if __name__ == "__main__":
    main(sys.argv[1:])
