"""The synthetic EHR layer (labutils.ehr, issue 7): generation speed and the HF-onset pattern of design section F.

1. Time to generate 20,000 patients (target <= 5 s), and the calibration figures of that cohort.
2. Test AUROC of the exact oracle, logistic regression on log code counts (whole window, and in 0-3 / 3-9 /
   9-18-month bins), and a GRU over visits (ordered, and with the visits shuffled) on the HF case-control
   cohort: prediction window 0 and 6 months, and with ``order_effects=False``; 3 seeds.
   The expected pattern (design section F): oracle >= every model - 2 SE; GRU(ordered) - GRU(shuffled) >= 0.015
   at W = 0; |GRU - LR| <= 0.01 without order effects; the W = 6 gap (GRU - LR) below the W = 0 gap.

Usage: python benchmarks/bench_ehr.py [N_PATIENTS] [SEEDS]   (defaults 20000 and 3; a few minutes on 2 cores)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.pop("LABUTILS_FAST", None)

from benchmarks.common import save  # noqa: E402
from labutils.ehr import build_vocabulary, generate_cohort, hf_case_control, pad_batch  # noqa: E402
from labutils.training import fit, predict  # noqa: E402

OBS = 18


def timing_rows(n_patients: int) -> list:
    rows = []
    for seed in range(3):
        start, cpu = time.perf_counter(), time.process_time()
        synth = generate_cohort(n_patients, seed=seed)
        rows.append({"what": f"generate {n_patients} patients", "seed": seed, "seconds": time.perf_counter() - start,
                     "cpu_seconds": time.process_time() - cpu, **synth.summary()})
    return rows


def window_features(task, vocab):
    """Log counts over the window, counts in 0-3 / 3-9 / 9-18-month bins before its end, and age/sex."""
    seqs = task.cohort.sequences(vocab)
    months_before = [(task.window_end[n] - t) / np.timedelta64(1, "D") / 30.44 for n, t in enumerate(task.cohort.times())]
    C = len(vocab)
    total, bins = np.zeros((len(seqs), C)), np.zeros((len(seqs), 3, C))
    for n, (visits, before) in enumerate(zip(seqs, months_before)):
        for codes, b in zip(visits, before):
            total[n, codes] += 1
            bins[n, 0 if b < 3 else 1 if b < 9 else 2, codes] += 1
    static = np.column_stack([(task.age - 60) / 10, task.sex == "M"])
    return np.hstack([np.log1p(total), static]), np.hstack([np.log1p(bins.reshape(len(seqs), -1)), static]), seqs, static


def lr_auroc(X, y, split):
    tr, va, te = (split == p for p in ("train", "val", "test"))
    models = [LogisticRegression(C=C, max_iter=1000).fit(X[tr], y[tr]) for C in (0.01, 0.1, 1.0)]
    best = max(models, key=lambda m: roc_auc_score(y[va], m.decision_function(X[va])))
    return roc_auc_score(y[te], best.decision_function(X[te]))


class VisitGRU(nn.Module):
    """tanh(Linear) visit embedding -> GRU -> [last state, age, sex] -> logit (design section F)."""

    def __init__(self, n_codes, hidden=64):
        super().__init__()
        self.embed = nn.Linear(n_codes, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden + 2, 1)

    def forward(self, x, lengths, static):
        packed = nn.utils.rnn.pack_padded_sequence(torch.tanh(self.embed(x)), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, h = self.gru(packed)
        return self.head(torch.cat([h[0], static], 1)).squeeze(1)


def gru_auroc(seqs, static, y, split, n_codes, seed, epochs=8):
    def loader(part, shuffle):
        idx = np.flatnonzero(split == part)

        def collate(batch):
            b = pad_batch([seqs[i] for i in batch], n_codes)
            return (torch.from_numpy(b["x"]), torch.from_numpy(b["lengths"]),
                    torch.tensor(static[batch], dtype=torch.float32), torch.tensor(y[batch], dtype=torch.float32))
        return torch.utils.data.DataLoader(idx, batch_size=128, shuffle=shuffle, collate_fn=collate,
                                           generator=torch.Generator().manual_seed(seed))

    torch.manual_seed(seed)
    model = VisitGRU(n_codes)
    fit(model, loader("train", True), nn.BCEWithLogitsLoss(), torch.optim.Adam(model.parameters(), lr=2e-3),
        epochs, val_loader=loader("val", False), metrics={"auroc": lambda o, t: roc_auc_score(t.numpy(), o.numpy())},
        patience=2, clip_norm=1.0, progress=False)
    out, target = predict(model, loader("test", False))
    return roc_auc_score(target.numpy(), out.numpy())


def design_rows(synth, design, pred, seed, shuffled=False):
    task = hf_case_control(synth, obs_months=OBS, pred_months=pred, seed=seed)
    train_ids = task.cohort.patients["patient_id"][task.split == "train"]
    vocab = build_vocabulary(task.cohort.subset(train_ids), prefixes=("D_", "RX_", "PX_"))
    X, X_bins, seqs, static = window_features(task, vocab)
    y, split, te = task.labels, task.split, task.split == "test"
    base = {"design": design, "seed": seed, "test_cases": int(y[te].sum()), "test_samples": int(te.sum())}
    rows = [dict(base, model="oracle", auroc=roc_auc_score(y[te], task.oracle[te])),
            dict(base, model="LR counts", auroc=lr_auroc(X, y, split)),
            dict(base, model="LR counts in 3 bins", auroc=lr_auroc(X_bins, y, split)),
            dict(base, model="GRU", auroc=gru_auroc(seqs, static, y, split, len(vocab), seed))]
    if shuffled:  # codes permuted across visits, time stamps in place
        rng = np.random.default_rng(seed)
        mixed = [[v[i] for i in rng.permutation(len(v))] for v in seqs]
        rows.append(dict(base, model="GRU, visits shuffled", auroc=gru_auroc(mixed, static, y, split, len(vocab), seed)))
    print(*(f"{r['design']:>22} seed {seed} {r['model']:>22}: {r['auroc']:.3f}" for r in rows), sep="\n", flush=True)
    return rows


def main(n_patients=20_000, seeds=3):
    torch.set_num_threads(1)
    timing = timing_rows(20_000)
    save("ehr_generate", [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()
                           if k in ("what", "seed", "seconds", "cpu_seconds", "codes_per_visit", "mean_gap_days", "dx_groups",
                                    "hf_incidence_5y", "visits_per_patient")} for r in timing],
         notes="Target: 20k patients in <= 5 s (wall time depends on the machine's load; cpu_seconds does not); ~3-4 codes/visit, mean gap 60-100 days, 250-400 3-digit groups, "
               "5-year HF incidence 8-12 %.")
    rows = []
    for seed in range(seeds):
        synth = generate_cohort(n_patients, seed=seed)
        rows += design_rows(synth, "W=0", 0, seed, shuffled=True)
        rows += design_rows(synth, "W=6", 6, seed)
        rows += design_rows(generate_cohort(n_patients, seed=seed, order_effects=False), "W=0 no order effects", 0,
                            seed)
    import pandas as pd

    table = pd.DataFrame(rows)
    mean = table.pivot_table(index="model", columns="design", values="auroc", aggfunc="mean")
    sd = table.groupby(["model", "design"])["auroc"].std().unstack().reindex_like(mean)
    cases = table.groupby("design")["test_cases"].mean()
    # one AUROC's standard error at this size (Hanley-McNeil-like rule of thumb: ~0.5/sqrt(cases))
    se = {d: 0.5 / np.sqrt(cases[d]) / np.sqrt(seeds) for d in mean.columns}
    gap = {d: float(mean.loc["GRU", d] - mean.loc["LR counts", d]) for d in mean.columns}
    checks = {k: bool(v) for k, v in {
        "oracle >= every model - 2 SE": all(mean.loc["oracle", d] >= mean[d].drop("oracle").max() - 2 * se[d]
                                            for d in mean.columns),
        "GRU - GRU shuffled >= 0.015 at W=0": mean.loc["GRU", "W=0"] - mean.loc["GRU, visits shuffled", "W=0"] >= 0.015,
        "|GRU - LR| <= 0.01 without order effects": abs(gap["W=0 no order effects"]) <= 0.01,
        "W=6 gap < W=0 gap": gap["W=6"] < gap["W=0"],
    }.items()}
    summary = mean.round(4).reset_index()
    for d in mean.columns:
        summary[f"{d} sd"] = sd[d].round(4).values
    notes = (f"{n_patients} patients per cohort, {seeds} seeds; mean test AUROC (sd over seeds). "
             f"Test cases per seed: {cases.round(0).to_dict()}; SE of a 3-seed mean ~ {np.round(list(se.values()), 4)}. "
             f"GRU - LR gaps: { {d: round(g, 4) for d, g in gap.items()} }. Pattern checks: {checks}.")
    save("ehr_hf_pattern", summary, notes=notes)
    save("ehr_hf_pattern_runs", table, notes="Every run of ehr_hf_pattern.")
    return checks


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
