"""Doctor AI (notebook 06) over several seeds, at the notebook's full-mode settings: recall@k and R² of
log-days for the model, the count-aware extension, the baselines and both oracles (clairvoyant and
state-at-t); the recall on repeat and new groups; the memory probe's figures; the transfer gain of
hospital A's model fine-tuned on a small hospital B.

Every function comes from the notebook itself, through ``labutils.notebook_code.load_notebook``: its
exercise solutions and its cells tagged ``library``. As in the notebook, every method is compared on the
same random subset of the test patients (the state-at-t oracle is the expensive part). The full-mode
thresholds of the notebook's assertions are read against the per-seed margins printed here.

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

MODEL, COUNT, PF = "Doctor AI (GRU)", "count-aware GRU", "patient frequency"
ORACLES = ["oracle (clairvoyant)", "oracle (state at t)"]


def headline(nb, seed: int, n_patients: int, epochs: int, count_epochs: int, n_eval: int):
    """Hospital A: the trained GRU, the per-method rows and the seed's figures (as sections 6-11 of the notebook)."""
    task, input_vocab, label_vocab, split = nb.synthetic_doctor_ai(n_patients, seed)
    n_labels = len(label_vocab)
    rate, mean_log_days = nb.label_rates(split["train"], n_labels)
    test, test_index = nb.evaluation_patients(task, split, n_eval, seed=seed)
    scores = nb.baseline_scores(test, rate)
    scores[ORACLES[0]] = [task.oracle_next[i] for i in test_index]
    (scores[ORACLES[1]], oracle_log_days), oracle_seconds = timed(nb.state_at_t_oracle, task, test_index)

    torch.manual_seed(seed)
    model = nb.DoctorAI(len(input_vocab), n_labels)
    nb.start_from_base_rates(model, split["train"])
    history, train_seconds = timed(nb.train_doctor_ai, model, split["train"], split["val"], epochs=epochs)
    scores[MODEL], log_days_pred = nb.predict_patients(model, test)

    torch.manual_seed(seed)
    count_model = nb.CountAwareDoctorAI(len(input_vocab), n_labels, nb.label_input_columns(input_vocab, label_vocab))
    nb.start_from_base_rates(count_model, split["train"])
    count_history, count_seconds = timed(nb.train_doctor_ai, count_model, split["train"], split["val"],
                                         epochs=count_epochs)
    scores[COUNT], count_log_days = nb.predict_patients(count_model, test)

    ks = (10, 20, 30)
    table = nb.recall_table(scores, test, n_labels, ks=(5, *ks))
    parts = nb.recall_split(scores, test, n_labels, ks=ks)
    bands = nb.frequency_bands(rate)
    tail = list(bands)[-1]
    by_band = nb.recall_of_parts(scores, test, n_labels, bands, ks=(30,))
    mean_train_days = float(np.mean([d for p in split["train"] for d in p["days_next"]]))
    log_days = np.log(np.maximum(np.concatenate([p["days_next"] for p in test]), 1.0))
    r2 = {name: nb.r2_log_days(np.concatenate(pred), log_days, mean_train_days)
          for name, pred in ((MODEL, log_days_pred), (COUNT, count_log_days), (ORACLES[1], oracle_log_days))}
    r2["global frequency"] = nb.r2_log_days(np.full_like(log_days, mean_log_days), log_days, mean_train_days)
    rows = [{"seed": seed, "method": name, **table.loc[name].to_dict(),
             **{f"{part} @{k}": parts.loc[name, (part, f"recall@{k}")] for part in ("repeat", "new") for k in ks},
             "tail band @30": by_band.loc[name, (tail, "recall@30")], "R2_log_days": r2.get(name, np.nan)}
            for name in table.index]

    figures = {"seed": seed, "epochs run": len(history), "count epochs run": len(count_history),
               "train s": train_seconds, "count train s": count_seconds, "oracle at t s": oracle_seconds}
    for k in ks:
        r = table[f"recall@{k}"]
        se = nb.se_of_difference(scores[MODEL], scores[PF], test, n_labels, k=k)
        figures[f"@{k} PF − GRU"] = r[PF] - r[MODEL]
        figures[f"@{k} (PF − GRU)/SE"] = (r[PF] - r[MODEL]) / se
        figures[f"@{k} count − GRU"] = r[COUNT] - r[MODEL]
        figures[f"@{k} count − PF"] = r[COUNT] - r[PF]
        figures[f"@{k} count − PF in SE"] = (r[COUNT] - r[PF]) / nb.se_of_difference(scores[COUNT], scores[PF], test,
                                                                                      n_labels, k=k)
        figures[f"@{k} at t − best method"] = r[ORACLES[1]] - r.drop(ORACLES).max()
        figures[f"@{k} clairvoyant − at t"] = r[ORACLES[0]] - r[ORACLES[1]]
    figures["@10 GRU − last visit"] = table.loc[MODEL, "recall@10"] - table.loc["last visit", "recall@10"]
    figures["R2 GRU − constant"] = r2[MODEL] - r2["global frequency"]
    figures["R2 count − constant"] = r2[COUNT] - r2["global frequency"]

    by_group = nb.part_recall_by_group({n: scores[n] for n in (MODEL, PF)}, test, n_labels, nb.repeat_parts, ks=(10,))
    se_parts = nb.se_of_part_differences(by_group, PF)
    for part in ("repeat", "new"):
        figures[f"{part} @10 (GRU − PF)/SE"] = ((parts.loc[MODEL, (part, "recall@10")] - parts.loc[PF, (part, "recall@10")])
                                              / se_parts.loc[MODEL, (part, "recall@10")])
    at_t, pf = parts.loc[ORACLES[1]], parts.loc[PF]
    figures["repeat @10 at t − PF"] = at_t[("repeat", "recall@10")] - pf[("repeat", "recall@10")]
    figures["repeat @20 |at t − PF|"] = abs(at_t[("repeat", "recall@20")] - pf[("repeat", "recall@20")])
    figures["new @30 at t − PF"] = at_t[("new", "recall@30")] - pf[("new", "recall@30")]
    figures["new @10 at t − best method"] = (parts.loc[ORACLES[1], ("new", "recall@10")]
                                             - parts[("new", "recall@10")].drop(ORACLES).max())
    figures["tail @30 PF − GRU"] = by_band.loc[PF, (tail, "recall@30")] - by_band.loc[MODEL, (tail, "recall@30")]
    figures["top-20 @30 min over methods"] = by_band[(list(bands)[0], "recall@30")].drop(ORACLES).min()

    kinds = nb.group_kinds(label_vocab, rate)
    probe = nb.top_k_hits_by_recency({m: scores[m] for m in (MODEL, PF, ORACLES[1])}, test, kinds, n_labels)
    figures.update({f"probe {k}": v for k, v in nb.probe_summary(probe).items()})
    rare = probe.loc["rare"].loc[["3–4", "5–8"]]
    figures["probe rare_kept oracle at t"] = float(np.average(rare[ORACLES[1]], weights=rare["n"]))
    common = probe.loc["common"].loc[["1", "2", "3–4", "5–8", "9+"]]
    figures["probe common, min over recency of GRU − PF"] = float((common[MODEL] - common[PF]).min())

    torch.manual_seed(seed)  # section 12: the original softmax head, 3 epochs
    softmax_model = nb.DoctorAI(len(input_vocab), n_labels)
    softmax_history = nb.train_doctor_ai(softmax_model, split["train"], split["val"], epochs=3,
                                         loss_fn=nb.softmax_binary_loss)
    softmax_scores = nb.predict_patients(softmax_model, test, activation=lambda o: torch.softmax(o, dim=-1))[0]
    same = min(len(history), len(softmax_history))
    figures["softmax: val recall@30 sigmoid − softmax, min over epochs"] = float(
        (history["val_recall@30"].to_numpy()[:same] - softmax_history["val_recall@30"].to_numpy()[:same]).min())
    figures["softmax: recall@10 sigmoid − softmax"] = (table.loc[MODEL, "recall@10"]
                                                       - nb.recall_table({"s": softmax_scores}, test, n_labels,
                                                                         ks=(10,)).iloc[0, 0])
    true_per_visit = float(nb.pooled_labels(test, n_labels).sum(-1).mean())
    figures["sigmoid Σ / true groups − 1"] = float(np.concatenate(scores[MODEL]).sum(1).mean()) / true_per_visit - 1
    return model, input_vocab, label_vocab, rows, figures


def transfer(nb, model, input_vocab, label_vocab, seed: int, n_b: int, sizes, epochs: int):
    """Hospital B (section 13 of the notebook): rows and figures of the transfer experiment."""
    n_labels = len(label_vocab)
    task_b, _, _, split_b = nb.synthetic_doctor_ai(n_b, seed + 1, hospital="B", input_vocab=input_vocab,
                                                   label_vocab=label_vocab)
    test_b = split_b["test"]
    rate_b = nb.label_rates(split_b["train"], n_labels)[0]
    reference = {"patient frequency": nb.baseline_scores(test_b, rate_b)["patient frequency"],
                 "A, no fine-tuning": nb.predict_patients(model, test_b)[0]}
    ref = nb.recall_table(reference, test_b, n_labels, ks=(10, 30))
    rows, gains = [], {}
    for n in sizes:
        alone, tuned = nb.transfer_models(model, split_b["train"][:n], split_b["val"], epochs=epochs, seed=seed)
        t = nb.recall_table({name: nb.predict_patients(m, test_b)[0] for name, m in (("B alone", alone),
                                                                                       ("A → fine-tuned on B", tuned))},
                            test_b, n_labels, ks=(10, 30))
        gains[n] = t.loc["A → fine-tuned on B", "recall@10"] - t.loc["B alone", "recall@10"]
        rows += [{"seed": seed, "method": f"transfer (n={n}): {name}", **t.loc[name].to_dict()} for name in t.index]
        if n == sizes[0]:
            figures = {"transfer A as is − B alone (smallest n)": ref.loc["A, no fine-tuning", "recall@10"]
                       - t.loc["B alone", "recall@10"]}
        best_tuned = t.loc["A → fine-tuned on B", "recall@10"]
    rows += [{"seed": seed, "method": f"transfer: B {name}", **ref.loc[name].to_dict()} for name in ref.index]
    figures.update({"transfer gain (smallest n)": gains[sizes[0]], "transfer gain (largest n)": gains[sizes[-1]],
                    "transfer PF_B − fine-tuned (largest n)": ref.loc["patient frequency", "recall@10"] - best_tuned})
    return rows, figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--patients", type=int, default=3000, help="hospital A, as the notebook's full mode")
    parser.add_argument("--epochs", type=int, default=12, help="as the notebook's full mode")
    parser.add_argument("--count-epochs", type=int, default=4, help="the count-aware GRU, as the notebook")
    parser.add_argument("--evaluate", type=int, default=200, help="test patients compared (as the notebook)")
    parser.add_argument("--hospital-b", type=int, default=2000, help="hospital-B patients")
    parser.add_argument("--transfer", type=int, nargs="+", default=[100, 1000], help="hospital-B training sizes (as the notebook)")
    parser.add_argument("--transfer-epochs", type=int, default=8)
    args = parser.parse_args(argv)
    set_threads(1)
    nb = load_notebook("06_doctor_ai")
    rows, figures = [], []
    for seed in args.seeds:
        model, input_vocab, label_vocab, seed_rows, seed_figures = headline(
            nb, seed, args.patients, args.epochs, args.count_epochs, args.evaluate)
        t_rows, t_figures = transfer(nb, model, input_vocab, label_vocab, seed, args.hospital_b, args.transfer,
                                     args.transfer_epochs)
        rows += seed_rows + t_rows
        figures.append(seed_figures | t_figures)
        print(f"seed {seed} done ({seed_figures['train s']:.0f} s of training)", flush=True)
    table = pd.DataFrame(rows)
    summary = table.drop(columns="seed").groupby("method", sort=False).agg(mean_spread).reset_index()
    per_seed = pd.DataFrame(figures).set_index("seed").T
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(per_seed.round(4).to_string())
    notes = (f"{len(args.seeds)} seeds, {args.patients} patients ({args.evaluate} test patients compared), "
             f"≤ {args.epochs} epochs (GRU) and ≤ {args.count_epochs} (count-aware), early stopping, 1 CPU thread; "
             "mean ± sd over seeds. Per seed: "
             + "; ".join(f"{c}: {mean_spread(per_seed.loc[c])}" for c in per_seed.index) + ".")
    save("doctor_ai", summary, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
