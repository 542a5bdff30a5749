"""Notebook 06 (Doctor AI): every check accepts correct answers written differently from the solution
and rejects named wrong ones; a slow test runs the notebook with correct variants substituted.

Each check cell runs on its own through ``labutils.notebook_code.run_check``: (1) the notebook's
solution passes, (2) at least two correct variants written differently pass (loops, PyTorch in float32,
a GRU stepped one visit at a time, ...), (3) every wrong variant is rejected with an AssertionError.
"""
import re
import textwrap

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from labutils.notebook_code import (cell_source, execute_with_solutions, load_notebook, run_check,
                                    variant_source)

NB = "06_doctor_ai"


@pytest.fixture(scope="module")
def solutions():
    return load_notebook(NB)


def test_solutions_pass(solutions):
    for name in ("next_visit_pairs", "recall_at_k", "masked_multilabel_loss", "DoctorAI"):
        run_check(NB, name, **{name: getattr(solutions, name)})


# ----------------------------------------------------------------------------------------- next_visit_pairs
def pairs_comprehension(patients):
    kept = [p for p in patients if len(p) > 1]
    return [p[:-1] for p in kept], [p[1:] for p in kept]


def pairs_tuples(patients):  # tuples of tuples, built by index
    inputs, targets = [], []
    for visits in patients:
        if len(visits) >= 2:
            inputs.append(tuple(tuple(visits[t]) for t in range(len(visits) - 1)))
            targets.append(tuple(tuple(visits[t]) for t in range(1, len(visits))))
    return inputs, targets


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


@pytest.mark.parametrize("variant", [pairs_comprehension, pairs_tuples])
def test_next_visit_pairs_variants_pass(variant):
    run_check(NB, "next_visit_pairs", next_visit_pairs=variant)


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


def recall_torch_float32(scores, targets, mask, k):  # torch.topk and .float(): float32 arithmetic
    s, y = torch.as_tensor(scores).float(), torch.as_tensor(targets).float()
    hits = y.gather(-1, s.topk(k, dim=-1).indices).sum(-1)
    n_true = y.sum(-1)
    valid = torch.as_tensor(mask).bool() & (n_true > 0)
    return (hits[valid] / n_true[valid]).mean().item()


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


def test_float32_recall_differs_from_the_float64_answer():
    """The float32 variant really is a float32 answer: 0.72222227 on the hand-worked case, not 13/18."""
    scores = np.array([[[.9, .1, .8, .3, .2], [.1, .7, .2, .3, .0]], [[.5, .4, .3, .2, .1], [.1, .2, .9, .3, .8]]])
    targets = np.zeros((2, 2, 5))
    for n, t, c in [(0, 0, 0), (0, 0, 3), (0, 1, 1), (1, 1, 2), (1, 1, 3), (1, 1, 4)]:
        targets[n, t, c] = 1
    got = recall_torch_float32(scores, targets, np.ones((2, 2), bool), 2)
    assert got != 13 / 18 and abs(got - 13 / 18) < 1e-6


@pytest.mark.parametrize("variant", [recall_loop, recall_torch_float32])
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


def loss_float_targets(logits, targets, mask):  # casts to float32, weights the visits by the mask
    per_visit = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none").sum(-1)
    weights = mask.float()
    return (per_visit * weights).sum() / weights.sum()


def loss_over_padding(logits, targets, mask):      # averages over every step, padding included
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1).mean()


def loss_masked_sum_over_all(logits, targets, mask):  # zeroes padding but divides by all N·T steps
    per_visit = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)
    return (per_visit * mask).sum() / mask.numel()


def loss_mean_over_codes(logits, targets, mask):   # also averages over the C codes
    return F.binary_cross_entropy_with_logits(logits[mask], targets[mask])


def loss_naive_log_sigmoid(logits, targets, mask):  # log(1 − σ) is log 0 for large logits in float32
    p = torch.sigmoid(logits)
    per_entry = -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p))
    return per_entry[mask].sum() / mask.sum()


@pytest.mark.parametrize("variant", [loss_stable_formula, loss_float_targets])
def test_loss_variants_pass(variant):
    run_check(NB, "masked_multilabel_loss", masked_multilabel_loss=variant)


@pytest.mark.parametrize("wrong", [loss_over_padding, loss_masked_sum_over_all, loss_mean_over_codes,
                                   loss_naive_log_sigmoid])
def test_loss_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "masked_multilabel_loss", masked_multilabel_loss=wrong)


# --------------------------------------------------------------------------------------------- DoctorAI
# Variants of DoctorAI.forward: the notebook's class with the solution region replaced by these bodies.
FORWARDS = {
    "stepwise": """
        v = torch.tanh(x @ self.embed.weight.T + self.embed.bias)          # one visit at a time, state carried
        h = x.new_zeros(1, x.shape[0], self.gru.hidden_size)
        states = []
        for t in range(x.shape[1]):
            out, h = self.gru(torch.cat([log_gap[:, t, None], v[:, t]], dim=-1)[:, None], h)
            states.append(out[:, 0])
        hs = self.dropout(torch.stack(states, dim=1))
        return F.linear(hs, self.codes.weight, self.codes.bias), self.time(hs)[..., 0]
""",
    "functional": """
        gap = log_gap[..., None].to(x.dtype)
        hs = self.gru(torch.cat((gap, self.embed(x).tanh()), 2))[0]
        hs = F.dropout(hs, self.dropout.p, self.training)
        days = hs @ self.time.weight[0] + self.time.bias[0]
        return self.codes(hs), days
""",
    # wrong ones
    "no_tanh": """
        hs, _ = self.gru(torch.cat([log_gap.unsqueeze(-1), self.embed(x)], dim=-1))
        return self.codes(hs), self.time(hs).squeeze(-1)
""",
    "relu": """
        hs, _ = self.gru(torch.cat([log_gap.unsqueeze(-1), torch.relu(self.embed(x))], dim=-1))
        return self.codes(hs), self.time(hs).squeeze(-1)
""",
    "gap_last": """
        hs, _ = self.gru(torch.cat([torch.tanh(self.embed(x)), log_gap.unsqueeze(-1)], dim=-1))
        return self.codes(hs), self.time(hs).squeeze(-1)
""",
    "gap_ignored": """
        v = torch.tanh(self.embed(x))
        hs, _ = self.gru(torch.cat([torch.zeros_like(log_gap).unsqueeze(-1), v], dim=-1))
        return self.codes(hs), self.time(hs).squeeze(-1)
""",
    "sigmoid_probabilities": """
        hs, _ = self.gru(torch.cat([log_gap.unsqueeze(-1), torch.tanh(self.embed(x))], dim=-1))
        return torch.sigmoid(self.codes(hs)), self.time(hs).squeeze(-1)
""",
    "one_concatenated_tensor": """
        hs, _ = self.gru(torch.cat([log_gap.unsqueeze(-1), torch.tanh(self.embed(x))], dim=-1))
        return torch.cat([self.codes(hs), self.time(hs)], dim=-1)
""",
    "time_head_not_squeezed": """
        hs, _ = self.gru(torch.cat([log_gap.unsqueeze(-1), torch.tanh(self.embed(x))], dim=-1))
        return self.codes(hs), self.time(hs)
""",
    "runs_backwards_in_time": """
        inputs = torch.cat([log_gap.unsqueeze(-1), torch.tanh(self.embed(x))], dim=-1)
        hs, _ = self.gru(inputs.flip(1))
        hs = hs.flip(1)
        return self.codes(hs), self.time(hs).squeeze(-1)
""",
    "last_state_everywhere": """
        _, h_last = self.gru(torch.cat([log_gap.unsqueeze(-1), torch.tanh(self.embed(x))], dim=-1))
        hs = h_last[0][:, None].expand(-1, x.shape[1], -1)
        return self.codes(hs), self.time(hs).squeeze(-1)
""",
    "detached_states": """
        hs, _ = self.gru(torch.cat([log_gap.unsqueeze(-1), torch.tanh(self.embed(x))], dim=-1))
        hs = hs.detach()
        return self.codes(hs), self.time(hs).squeeze(-1)
""",
}
CORRECT_FORWARDS = ["stepwise", "functional"]
WRONG_FORWARDS = [name for name in FORWARDS if name not in CORRECT_FORWARDS]
SOLUTION_REGION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)


def doctor_ai_source(forward_body: str) -> str:
    """The notebook's DoctorAI cell with the solution region replaced by ``forward_body``."""
    body = textwrap.indent(textwrap.dedent(forward_body).strip("\n"), " " * 8)
    return SOLUTION_REGION.sub(lambda m: body, cell_source(NB, "DoctorAI"), count=1)


def doctor_ai_variant(name: str):
    namespace = {"torch": torch, "nn": nn, "F": F, "np": np}
    exec(compile(doctor_ai_source(FORWARDS[name]), f"DoctorAI[{name}]", "exec"), namespace)
    return namespace["DoctorAI"]


@pytest.mark.parametrize("variant", CORRECT_FORWARDS)
def test_doctor_ai_variants_pass(variant):
    run_check(NB, "DoctorAI", DoctorAI=doctor_ai_variant(variant))


@pytest.mark.parametrize("wrong", WRONG_FORWARDS)
def test_doctor_ai_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "DoctorAI", DoctorAI=doctor_ai_variant(wrong))


# ------------------------------------------------------------------ the notebook runs with correct variants
@pytest.mark.slow
def test_notebook_runs_with_correct_variants(tmp_path, monkeypatch):
    """FAST mode, every exercise replaced by a correct variant written differently from the solution:
    every check and every downstream assertion (toy cycles, results against both oracles, repeat/new split,
    memory probe, the count-aware extension, softmax, transfer) still passes, so none of them depends on
    incidental choices of the solution."""
    replacements = {
        "next_visit_pairs": variant_source("next_visit_pairs", pairs_tuples),
        "recall_at_k": variant_source("recall_at_k", recall_torch_float32),
        "masked_multilabel_loss": variant_source("masked_multilabel_loss", loss_float_targets),
        "DoctorAI": doctor_ai_source(FORWARDS["functional"]),
    }
    execute_with_solutions(NB, replacements)
