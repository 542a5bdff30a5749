"""Encoder–decoder and attention (notebook 07) over several seeds.

1. Exact match of the fixed-context and the attention encoder–decoder on the held-out test pairs of the
   medication-instruction grammar, by length of the shorthand (mean and spread over seeds).
2. The heart-failure cohort of notebook 05: test AUROC of the oracle, logistic regression on counts, the GRU and
   RETAIN, and the AUROC of RETAIN's visit attention for visits in a transient high-risk state.

All the model code is the notebook's own, imported with ``load_notebook("07_seq2seq_attention")`` (its exercise
solutions and ``library`` cells); this file only loops over seeds. The margins it saves are the ones notebook 07
may assert in full mode.

Usage: python -m benchmarks.bench_seq2seq [SEEDS]
(full mode: the notebook's full-mode sizes and 3 seeds; FAST mode, LABUTILS_FAST=1: small sizes, 1 seed)
"""
from __future__ import annotations

import sys

import pandas as pd
from threadpoolctl import threadpool_limits

from benchmarks.common import mean_spread, save, timed
from labutils.config import pick, set_threads
from labutils.notebook_code import load_notebook

SIZES = pick((400, 100, 200), (2000, 300, 600))     # train, validation, test pairs: the notebook's sizes
EPOCHS = pick(3, 10)
EDGES = [4, 9, 16, 40]
N_PATIENTS, HF_EPOCHS = pick(3000, 8000), pick(6, 15)


def translation(nb, seeds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exact match by length (one row per seed, model and bin) and the per-seed extras (val loss, alignment)."""
    tables, extras = [], []
    for seed in seeds:
        result, seconds = timed(nb.translation_experiment, seed, SIZES, EPOCHS, EDGES)
        tables.append(result["exact"].assign(seed=seed))
        extras.append({"seed": seed, "seconds": round(seconds, 1), "alignment_spearman_median": result["alignment"],
                       **{f"val_loss {k}": v for k, v in result["val_loss"].items()}})
        print(f"seed {seed} ({seconds:.0f} s), alignment {result['alignment']:.3f}:\n"
              f"{result['exact'].to_string(index=False)}", flush=True)
    return pd.concat(tables, ignore_index=True), pd.DataFrame(extras)


def translation_margins(raw: pd.DataFrame) -> pd.DataFrame:
    """Per seed: the drop from the shortest to the longest inputs for each model, and attention − fixed context."""
    wide = raw.pivot_table(index="seed", columns=["model", "source length"], values="exact match")
    first, last = raw["source length"].iloc[0], raw["source length"].iloc[len(EDGES) - 2]
    diffs = {
        "fixed context: shortest − longest": wide["fixed context", first] - wide["fixed context", last],
        "attention: shortest − longest": wide["attention", first] - wide["attention", last],
        "attention on the longest": wide["attention", last],
        "longest: attention − fixed context": wide["attention", last] - wide["fixed context", last],
    }
    return pd.DataFrame([{"margin": k, "mean": v.mean(), "min": v.min(), "max": v.max(),
                          "per_seed": " ".join(f"{x:+.3f}" for x in v)} for k, v in diffs.items()])


def heart_failure(nb, seeds) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        auroc, seconds = timed(nb.hf_experiment, seed, N_PATIENTS, HF_EPOCHS)
        rows += [{"seed": seed, "model": name, "auroc": value, "seconds": round(seconds, 1)}
                 for name, value in auroc.items()]
        print(f"seed {seed} ({seconds:.0f} s): " + ", ".join(f"{k} {v:.3f}" for k, v in auroc.items()), flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str]) -> None:
    set_threads(1)          # as measured for the notebook: one thread for PyTorch and for BLAS
    threadpool_limits(1)
    nb = load_notebook("07_seq2seq_attention")
    seeds = list(range(int(argv[0]) if argv else pick(1, 3)))

    raw, extras = translation(nb, seeds)
    summary = (raw.groupby(["model", "source length"], sort=False)
               .agg(pairs=("pairs", "mean"), exact_match=("exact match", mean_spread)).reset_index())
    save("seq2seq_exact_match", summary,
         f"Exact match (greedy) on test pairs with held-out (form, route, frequency) combinations, by number of "
         f"shorthand tokens; mean ± sd over seeds {seeds}. Instructions of 1 or 2 steps, {SIZES[0]} training pairs, "
         f"{EPOCHS} epochs, batches of 16. Models and training are notebook 07's own code.")
    save("seq2seq_margins", translation_margins(raw), "Per-seed differences of exact match.")
    save("seq2seq_seeds", extras, "Per seed: wall seconds for both models, the median Spearman correlation of the "
         "attention model's alignments (output position vs most-attended input position) and the best validation loss.")

    hf = heart_failure(nb, seeds)
    save("retain_auroc", hf.groupby("model", sort=False)["auroc"].agg(mean_sd=mean_spread, min="min", max="max")
         .reset_index(),
         f"{N_PATIENTS:,} simulated patients per seed, seeds {seeds}, 18-month observation window, W = 0, test split "
         "20 % by patient. The last row is the AUROC of RETAIN's alpha_j × L for visits of test cases in a recent-MI "
         "or congestion-state month.")
    wide = hf.pivot(index="seed", columns="model", values="auroc")
    margins = {"RETAIN − GRU": wide["RETAIN"] - wide["GRU"], "RETAIN − LR": wide["RETAIN"] - wide["LR (counts)"],
               "oracle − best model": wide["oracle"] - wide[["LR (counts)", "GRU", "RETAIN"]].max(axis=1)}
    save("retain_margins", pd.DataFrame([{"margin": k, "mean": v.mean(), "min": v.min(), "max": v.max(),
                                          "per_seed": " ".join(f"{x:+.3f}" for x in v)} for k, v in margins.items()]),
         "Per-seed differences of test AUROC.")


if __name__ == "__main__":
    main(sys.argv[1:])
