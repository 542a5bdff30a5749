"""Notebook 06 (Doctor AI): the exercise checks accept correct answers and reject the wrong ones of issue 9.

Each check cell is run on its own via ``labutils.exercises.run_check``: (1) the notebook's solution passes,
(2) an independently written correct variant passes, (3) every wrong variant is rejected.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labutils.exercises import load_exercises, run_check

NB = "06_doctor_ai"


@pytest.fixture(scope="module")
def solutions():
    return load_exercises(NB)


def test_solutions_pass(solutions):
    run_check(NB, "next_visit_pairs", next_visit_pairs=solutions.next_visit_pairs)
    run_check(NB, "recall_at_k", recall_at_k=solutions.recall_at_k)
    run_check(NB, "masked_multilabel_loss", masked_multilabel_loss=solutions.masked_multilabel_loss)


# ----------------------------------------------------------------------------------------- next_visit_pairs
def pairs_comprehension(patients):
    kept = [p for p in patients if len(p) > 1]
    return [p[:-1] for p in kept], [p[1:] for p in kept]


def pairs_not_shifted(patients):  # target = the visit just read
    kept = [p for p in patients if len(p) > 1]
    return [p[:-1] for p in kept], [p[:-1] for p in kept]


def pairs_no_drop(patients):  # inputs = targets = every visit, nothing dropped
    return [list(p) for p in patients], [list(p) for p in patients]


def pairs_reversed(patients):  # predicts the previous visit
    kept = [p for p in patients if len(p) > 1]
    return [p[1:] for p in kept], [p[:-1] for p in kept]


def pairs_keep_single(patients):  # keeps one-visit patients as empty sequences
    kept = [p for p in patients if len(p) > 0]
    return [p[:-1] for p in kept], [p[1:] for p in kept]


def pairs_in_place(patients):  # right answer, but destroys the input
    inputs, targets = [], []
    for p in patients:
        if len(p) > 1:
            last = p.pop()
            inputs.append(list(p))
            targets.append(p[1:] + [last])
    return inputs, targets


def test_next_visit_pairs_variant_passes():
    run_check(NB, "next_visit_pairs", next_visit_pairs=pairs_comprehension)


@pytest.mark.parametrize("wrong", [pairs_not_shifted, pairs_no_drop, pairs_reversed, pairs_keep_single, pairs_in_place])
def test_next_visit_pairs_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "next_visit_pairs", next_visit_pairs=wrong)


# --------------------------------------------------------------------------------------------- recall_at_k
def recall_loop(scores, targets, mask, k):
    ratios = []
    for n in range(scores.shape[0]):
        for t in range(scores.shape[1]):
            true = set(np.flatnonzero(targets[n, t]))
            if mask[n, t] and true:
                top = set(np.argsort(-np.asarray(scores[n, t]), kind="stable")[:k].tolist())
                ratios.append(len(top & true) / len(true))
    return float(np.mean(ratios))


def recall_torch(scores, targets, mask, k):
    s, y = torch.as_tensor(scores, dtype=torch.float64), torch.as_tensor(targets, dtype=torch.float64)
    hits = y.gather(-1, s.topk(k, dim=-1).indices).sum(-1)
    n_true = y.sum(-1)
    valid = torch.as_tensor(mask) & (n_true > 0)
    return float((hits[valid] / n_true[valid]).mean())


def _hits(scores, targets, k):
    top = np.argsort(-np.asarray(scores), axis=-1)[..., :k]
    return np.take_along_axis(np.asarray(targets), top, axis=-1).sum(-1), np.asarray(targets).sum(-1)


def recall_over_k(scores, targets, mask, k):
    hits, n_true = _hits(scores, targets, k)
    valid = np.asarray(mask, bool) & (n_true > 0)
    return float((hits[valid] / k).mean())


def recall_per_patient(scores, targets, mask, k):
    hits, n_true = _hits(scores, targets, k)
    valid = np.asarray(mask, bool) & (n_true > 0)
    per_patient = [(hits[n][valid[n]] / n_true[n][valid[n]]).mean() for n in range(len(hits)) if valid[n].any()]
    return float(np.mean(per_patient))


def recall_counts_padding(scores, targets, mask, k):
    hits, n_true = _hits(scores, targets, k)
    valid = n_true > 0                      # mask ignored
    return float((hits[valid] / n_true[valid]).mean())


def recall_counts_empty(scores, targets, mask, k):
    hits, n_true = _hits(scores, targets, k)
    valid = np.asarray(mask, bool)          # empty targets count as 0
    return float((hits[valid] / np.maximum(n_true[valid], 1)).mean())


def recall_min_k(scores, targets, mask, k):
    hits, n_true = _hits(scores, targets, k)
    valid = np.asarray(mask, bool) & (n_true > 0)
    return float((hits[valid] / np.minimum(n_true[valid], k)).mean())


@pytest.mark.parametrize("variant", [recall_loop, recall_torch])
def test_recall_variants_pass(variant):
    run_check(NB, "recall_at_k", recall_at_k=variant)


@pytest.mark.parametrize("wrong", [recall_over_k, recall_per_patient, recall_counts_padding, recall_counts_empty,
                                   recall_min_k])
def test_recall_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "recall_at_k", recall_at_k=wrong)


# ---------------------------------------------------------------------------------- masked_multilabel_loss
def loss_stable_formula(logits, targets, mask):
    per_entry = logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))
    per_visit = per_entry.sum(-1)
    return torch.where(mask, per_visit, torch.zeros_like(per_visit)).sum() / mask.sum()


def loss_over_padding(logits, targets, mask):      # averages over every step, padding included
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1).mean()


def loss_masked_sum_over_all(logits, targets, mask):  # zeroes padding but divides by all N·T steps
    per_visit = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)
    return (per_visit * mask).sum() / mask.numel()


def loss_mean_over_codes(logits, targets, mask):   # also averages over the C codes
    return F.binary_cross_entropy_with_logits(logits[mask], targets[mask])


def loss_naive_log_sigmoid(logits, targets, mask):  # log(σ) underflows for large |logits|
    p = torch.sigmoid(logits)
    per_entry = -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p))
    return per_entry[mask].sum() / mask.sum()


def test_loss_variant_passes():
    run_check(NB, "masked_multilabel_loss", masked_multilabel_loss=loss_stable_formula)


@pytest.mark.parametrize("wrong", [loss_over_padding, loss_masked_sum_over_all, loss_mean_over_codes,
                                   loss_naive_log_sigmoid])
def test_loss_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "masked_multilabel_loss", masked_multilabel_loss=wrong)
