"""The synthetic EHR generator against its calibration targets (docs/ehr-generator.md), over several seeds.

Model-free figures only, fixed before any model is trained:

1. Generation: seconds for 20,000 patients (target < 10 s on 2 cores), codes and diagnoses per visit, visits per
   patient, mean gap, 3-digit diagnosis groups, five-year HF incidence (target 10-12 %), prevalences.
2. Doctor AI's next-visit task (notebook 06's own baselines and recall, imported with ``load_notebook``):
   recall@10/20/30 of "patient frequency" (target: within 0.04 of Choi et al. 2016's "most frequent" baseline,
   0.566 / 0.674 / 0.717), of the clairvoyant oracle (state at the next visit) and of the oracle that knows only
   the state at visit t (target: at least 0.12 above patient frequency at recall@30, and clearly below 1), and the
   share of true groups that are new to the patient.

Usage: python -m benchmarks.bench_ehr_calibration [N_PATIENTS] [SEEDS]
(full mode: 5,000 patients for the next-visit task and 3 seeds; FAST mode, LABUTILS_FAST=1: 1,500 and 1 seed)
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from benchmarks.common import mean_spread, save, timed
from labutils import ehr
from labutils.config import pick, set_threads
from labutils.notebook_code import load_notebook

PAPER_PATIENT_FREQUENCY = {10: 0.566, 20: 0.674, 30: 0.717}  # Choi et al. 2016, "most frequent" baseline
KS = (10, 20, 30)
SUMMARY = ("codes_per_visit", "dx_per_visit", "visits_per_patient", "mean_gap_days", "dx_groups", "hf_incidence_5y",
           "episodes_per_patient", "HTN_5y", "DM_5y", "CAD_5y", "AF_5y", "CKD_5y", "retinopathy_5y", "stroke_5y")


def generation_row(seed: int) -> dict:
    cpu = time.process_time()
    synth, seconds = timed(ehr.generate_cohort, 20_000, seed=seed)
    summary = synth.summary()
    return {"seed": seed, "seconds": seconds, "cpu_seconds": time.process_time() - cpu,
            **{k: summary[k] for k in SUMMARY}}


def new_group_share(patients) -> float:
    """Share of the true groups of target visits that the patient's earlier visits never carried."""
    new = total = 0
    for p in patients:
        seen = set()
        for inputs, target in zip(p["dx_inputs"], p["labels"]):
            seen.update(inputs)
            new += len(set(target) - seen)
            total += len(set(target))
    return new / max(total, 1)


def next_visit_row(nb, n_patients: int, seed: int) -> dict:
    task, _, label_vocab, split = nb.synthetic_doctor_ai(n_patients, seed)
    n_labels, test = len(label_vocab), split["test"]
    test_index = np.flatnonzero(task.split == "test")
    rate, _ = nb.label_rates(split["train"], n_labels)
    scores = nb.baseline_scores(test, rate)
    scores["oracle (state at t+1)"] = [task.oracle_next[i] for i in test_index]
    given_t, seconds = timed(lambda: [task.oracle_next_given_t[i] for i in test_index])
    scores["oracle (state at t)"] = given_t
    table = nb.recall_table(scores, test, n_labels, ks=KS)
    row = {"seed": seed, "labels": n_labels, "test visits": sum(len(p["labels"]) for p in test),
           "new share": new_group_share(test), "oracle at t seconds": seconds}
    for name in table.index:
        for k in KS:
            row[f"{name} @{k}"] = table.loc[name, f"recall@{k}"]
    return row


def main(argv: list[str]) -> None:
    set_threads(1)
    n_patients = int(argv[0]) if argv else pick(1_500, 5_000)
    seeds = list(range(int(argv[1]) if len(argv) > 1 else pick(1, 3)))
    save("ehr_generation", [generation_row(seed) for seed in seeds],
         notes="20,000 patients per seed. Targets: < 10 s on 2 cores; about 3 codes per visit (Choi et al. 2016: "
               "3.22); mean gap near 76 days; several hundred 3-digit groups; five-year HF incidence 10-12 %.")
    nb = load_notebook("06_doctor_ai")
    runs = pd.DataFrame([next_visit_row(nb, n_patients, seed) for seed in seeds])
    save("ehr_calibration_runs", runs, notes=f"{n_patients} simulated patients per seed (test part: 15 %).")
    checks = []
    for k in KS:
        pf = runs[f"patient frequency @{k}"]
        checks.append({"figure": f"patient frequency recall@{k}", "measured": mean_spread(pf),
                       "target": f"{PAPER_PATIENT_FREQUENCY[k]:.3f} ± 0.04",
                       "holds": bool((pf - PAPER_PATIENT_FREQUENCY[k]).abs().max() <= 0.04)})
    for name in ("oracle (state at t+1)", "oracle (state at t)"):
        margin = runs[f"{name} @30"] - runs["patient frequency @30"]
        checks.append({"figure": f"{name} − patient frequency, recall@30", "measured": mean_spread(margin),
                       "target": ">= 0.12", "holds": bool(margin.min() >= 0.12)})
        checks.append({"figure": f"{name} recall@30", "measured": mean_spread(runs[f"{name} @30"]),
                       "target": "< 0.97 (part of every visit is unpredictable)",
                       "holds": bool(runs[f"{name} @30"].max() < 0.97)})
    checks.append({"figure": "share of true groups new to the patient", "measured": mean_spread(runs["new share"]),
                   "target": "(reported)", "holds": True})
    save("ehr_calibration", checks, notes=f"Seeds {seeds}; mean ± sd over seeds; 'holds' is for every seed.")


if __name__ == "__main__":
    main(sys.argv[1:])
