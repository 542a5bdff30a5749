"""Notebook 05's check cells accept correct answers written in other ways and reject named wrong ones; the
notebook runs (FAST mode) with every exercise replaced by a correct variant."""

import numpy as np
import pytest
import torch
from torch import nn

from labutils.notebook_code import execute_with_solutions, load_notebook, run_check, variant_source

NB = "05_heart_failure"


@pytest.fixture(scope="module")
def solution():
    return load_notebook(NB)


# ---------------------------------------------------------------------------------- multi_hot_visits
def multi_hot_vectorised(patients, n_codes):
    """Correct: scatter every (patient, visit, code) triple at once."""
    lengths = torch.tensor([len(p) for p in patients], dtype=torch.long)
    t_max = int(lengths.max()) if len(patients) else 0
    triples = [(n, t, c) for n, p in enumerate(patients) for t, v in enumerate(p) for c in v]
    x = torch.zeros(len(patients), t_max, n_codes)
    if triples:
        n, t, c = torch.tensor(triples).T
        x[n, t, c] = 1.0
    return x, torch.arange(t_max)[None, :] < lengths[:, None]


def multi_hot_numpy(patients, n_codes):
    """Correct: built in float64 NumPy one visit at a time, converted at the end."""
    t_max = max([len(p) for p in patients] + [0])
    x = np.zeros((len(patients), t_max, n_codes))
    mask = np.zeros((len(patients), t_max), dtype=bool)
    for n, visits in enumerate(patients):
        mask[n, :len(visits)] = True
        for t, codes in enumerate(visits):
            x[n, t][np.asarray(codes, dtype=np.int64)] = 1
    return torch.from_numpy(x).float(), torch.from_numpy(mask)


def multi_hot_zero_is_padding(patients, n_codes):
    """Wrong: index 0 treated as padding (dropped)."""
    x, mask = multi_hot_vectorised(patients, n_codes)
    x[..., 0] = 0
    return x, mask


def multi_hot_mask_from_codes(patients, n_codes):
    """Wrong: mask from 'the visit has a code', which loses empty visits."""
    x, _ = multi_hot_vectorised(patients, n_codes)
    return x, x.sum(-1) > 0


def multi_hot_shifted(patients, n_codes):
    """Wrong: codes shifted by one to free index 0 for padding (the last code falls off)."""
    shifted = [[[c + 1 for c in v if c + 1 < n_codes] for v in p] for p in patients]
    return multi_hot_vectorised(shifted, n_codes)


def multi_hot_counts(patients, n_codes):
    """Wrong: counts duplicates within a visit instead of 0/1."""
    lengths = torch.tensor([len(p) for p in patients])
    x = torch.zeros(len(patients), int(lengths.max()), n_codes)
    for n, p in enumerate(patients):
        for t, v in enumerate(p):
            for c in v:
                x[n, t, c] += 1
    return x, torch.arange(x.shape[1])[None, :] < lengths[:, None]


def multi_hot_float_mask(patients, n_codes):
    """Wrong: a float mask instead of bool."""
    x, mask = multi_hot_vectorised(patients, n_codes)
    return x, mask.float()


@pytest.mark.parametrize("correct", ["solution", multi_hot_vectorised, multi_hot_numpy])
def test_multi_hot_accepts(solution, correct):
    run_check(NB, "multi_hot_visits", multi_hot_visits=solution.multi_hot_visits if correct == "solution" else correct)


@pytest.mark.parametrize("wrong", [multi_hot_zero_is_padding, multi_hot_mask_from_codes, multi_hot_shifted,
                                   multi_hot_counts, multi_hot_float_mask])
def test_multi_hot_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "multi_hot_visits", multi_hot_visits=wrong)


# ---------------------------------------------------------------------------------- bag_of_codes
def bag_vectorised(patients, n_codes):
    """Correct: one bincount over (patient * n_codes + code), int64."""
    flat = [n * n_codes + c for n, p in enumerate(patients) for v in p for c in v]
    counts = np.bincount(np.asarray(flat, dtype=np.int64), minlength=len(patients) * n_codes)
    return counts.reshape(len(patients), n_codes)


def bag_from_torch(patients, n_codes):
    """Correct: sum of one-hot rows in float32 torch, returned as NumPy."""
    rows = []
    for visits in patients:
        codes = torch.tensor([c for v in visits for c in v], dtype=torch.long)
        rows.append(nn.functional.one_hot(codes, n_codes).float().sum(0) if len(codes) else torch.zeros(n_codes))
    return torch.stack(rows).numpy() if rows else np.zeros((0, n_codes), np.float32)


def bag_presence(patients, n_codes):
    """Wrong: presence (0/1) where counts are asked."""
    return np.minimum(bag_vectorised(patients, n_codes), 1)


def bag_per_visit_rows(patients, n_codes):
    """Wrong: one row per visit instead of per patient."""
    rows = [np.bincount(v, minlength=n_codes) for p in patients for v in p]
    return np.stack(rows) if rows else np.zeros((0, n_codes))


def bag_last_visit_only(patients, n_codes):
    """Wrong: the counts are reset at every visit, so only the last visit is left."""
    out = np.zeros((len(patients), n_codes))
    for n, p in enumerate(patients):
        for v in p:
            out[n] = np.bincount(np.asarray(v, dtype=np.int64), minlength=n_codes)
    return out


def bag_zero_is_padding(patients, n_codes):
    """Wrong: index 0 treated as padding."""
    out = bag_vectorised(patients, n_codes).copy()
    out[:, 0] = 0
    return out


def bag_visits_with_code_as_tensor(patients, n_codes):
    """Wrong type: a torch tensor instead of a NumPy array."""
    return torch.from_numpy(bag_vectorised(patients, n_codes))


@pytest.mark.parametrize("correct", ["solution", bag_vectorised, bag_from_torch])
def test_bag_accepts(solution, correct):
    run_check(NB, "bag_of_codes", bag_of_codes=solution.bag_of_codes if correct == "solution" else correct)


@pytest.mark.parametrize("wrong", [bag_presence, bag_per_visit_rows, bag_last_visit_only, bag_zero_is_padding,
                                   bag_visits_with_code_as_tensor])
def test_bag_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "bag_of_codes", bag_of_codes=wrong)


# ---------------------------------------------------------------------------------- last_valid_hidden
def last_loop(outputs, mask):
    """Correct: a loop over rows, stacked."""
    rows = []
    for n in range(outputs.shape[0]):
        length = int(mask[n].sum())
        rows.append(outputs[n, length - 1])
    return torch.stack(rows)


def last_gather(outputs, mask):
    """Correct: torch.gather along the time axis."""
    index = (mask.sum(1) - 1).long()[:, None, None].expand(-1, 1, outputs.shape[2])
    return outputs.gather(1, index).squeeze(1)


def last_padded_step(outputs, mask):
    """Wrong: the last padded step for every row."""
    return outputs[:, -1]


def last_off_by_one(outputs, mask):
    """Wrong: index L instead of L - 1 (clamped so it does not crash on full rows)."""
    index = mask.sum(1).clamp(max=outputs.shape[1] - 1)
    return outputs[torch.arange(len(outputs)), index]


def last_off_by_one_low(outputs, mask):
    """Wrong: index L - 2 (clamped at 0)."""
    index = (mask.sum(1) - 2).clamp(min=0)
    return outputs[torch.arange(len(outputs)), index]


def last_first_step(outputs, mask):
    """Wrong: argmax of the mask finds the FIRST valid step."""
    return outputs[torch.arange(len(outputs)), mask.long().argmax(1)]


def last_detached(outputs, mask):
    """Wrong: right values but no gradient."""
    return last_gather(outputs, mask).detach()


def last_masked_mean(outputs, mask):
    """Wrong: mean over the valid steps."""
    m = mask.float()[:, :, None]
    return (outputs * m).sum(1) / m.sum(1)


@pytest.mark.parametrize("correct", ["solution", last_loop, last_gather])
def test_last_valid_accepts(solution, correct):
    run_check(NB, "last_valid_hidden",
              last_valid_hidden=solution.last_valid_hidden if correct == "solution" else correct)


@pytest.mark.parametrize("wrong", [last_padded_step, last_off_by_one, last_off_by_one_low, last_first_step,
                                   last_detached, last_masked_mean])
def test_last_valid_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "last_valid_hidden", last_valid_hidden=wrong)


# ---------------------------------------------------------------------------------- visit_gru_forward
def forward_packed(x, mask, static, embed, gru, head, time=None):
    """Correct: pack the embedded visits; h_n is the state after each patient's last real visit."""
    v = torch.tanh(embed(x))
    if time is not None:
        v = torch.cat([v, time], dim=2)
    lengths = mask.sum(dim=1).cpu()
    packed = nn.utils.rnn.pack_padded_sequence(v, lengths, batch_first=True, enforce_sorted=False)
    _, h_n = gru(packed)
    return head(torch.cat([h_n[-1], static], dim=1))[:, 0]


def forward_last_by_mask(x, mask, static, embed, gru, head, time=None):
    """Correct: the GRU over the padded batch, then the state where the mask steps from True to False."""
    v = torch.tanh(embed(x))
    if time is not None:
        v = torch.cat([v, time], dim=2)
    states, _ = gru(v)
    valid = mask.float()
    last = valid - torch.cat([valid[:, 1:], torch.zeros_like(valid[:, :1])], dim=1)   # 1 at the last real visit
    return head(torch.cat([(states * last[..., None]).sum(dim=1), static], dim=1))[:, 0]


def forward_one_by_one(x, mask, static, embed, gru, head, time=None):
    """Correct: each patient's real visits alone, no padding at all."""
    logits = []
    for n in range(len(x)):
        length = int(mask[n].sum())
        v = torch.tanh(embed(x[n:n + 1, :length]))
        if time is not None:
            v = torch.cat([v, time[n:n + 1, :length]], dim=-1)
        states, _ = gru(v)
        logits.append(head(torch.cat([states[0, -1], static[n]])))
    return torch.cat(logits)


def forward_last_padded_step(x, mask, static, embed, gru, head, time=None):
    """Wrong: reads the state after the last padded step."""
    v = torch.tanh(embed(x))
    if time is not None:
        v = torch.cat([v, time], dim=-1)
    return head(torch.cat([gru(v)[0][:, -1], static], dim=-1)).squeeze(-1)


def forward_no_tanh(x, mask, static, embed, gru, head, time=None):
    """Wrong: a linear visit embedding."""
    lengths = mask.sum(1)
    v = embed(x) if time is None else torch.cat([embed(x), time], dim=-1)
    states = gru(v)[0]
    return head(torch.cat([states[torch.arange(len(x)), lengths - 1], static], dim=-1)).squeeze(-1)


def forward_static_first(x, mask, static, embed, gru, head, time=None):
    """Wrong: the head sees [static, h] instead of [h, static]."""
    h = forward_parts(x, mask, embed, gru, time)
    return head(torch.cat([static, h], dim=-1)).squeeze(-1)


def forward_ignores_time(x, mask, static, embed, gru, head, time=None):
    """Wrong: the time features are zeroed instead of appended as given."""
    zeros = None if time is None else torch.zeros_like(time)
    return head(torch.cat([forward_parts(x, mask, embed, gru, zeros), static], dim=-1)).squeeze(-1)


def forward_mean_state(x, mask, static, embed, gru, head, time=None):
    """Wrong: the mean of the states over the real visits."""
    v = torch.tanh(embed(x)) if time is None else torch.cat([torch.tanh(embed(x)), time], dim=-1)
    m = mask.float()[:, :, None]
    h = (gru(v)[0] * m).sum(1) / m.sum(1)
    return head(torch.cat([h, static], dim=-1)).squeeze(-1)


def forward_column(x, mask, static, embed, gru, head, time=None):
    """Wrong shape: (N, 1) logits."""
    return head(torch.cat([forward_parts(x, mask, embed, gru, time), static], dim=-1))


def forward_detached(x, mask, static, embed, gru, head, time=None):
    """Wrong: right values, cut off from the graph."""
    return forward_packed(x, mask, static, embed, gru, head, time).detach()


def forward_parts(x, mask, embed, gru, time):
    """Helper of the wrong variants: the state at each patient's last real visit."""
    v = torch.tanh(embed(x))
    if time is not None:
        v = torch.cat([v, time], dim=-1)
    return gru(v)[0][torch.arange(len(x)), mask.sum(1) - 1]


@pytest.mark.parametrize("correct", ["solution", forward_packed, forward_one_by_one, forward_last_by_mask])
def test_visit_gru_forward_accepts(solution, correct):
    chosen = solution.visit_gru_forward if correct == "solution" else correct
    run_check(NB, "visit_gru_forward", visit_gru_forward=chosen, last_valid_hidden=solution.last_valid_hidden)


@pytest.mark.parametrize("wrong", [forward_last_padded_step, forward_no_tanh, forward_static_first,
                                   forward_ignores_time, forward_mean_state, forward_column, forward_detached])
def test_visit_gru_forward_rejects(solution, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "visit_gru_forward", visit_gru_forward=wrong, forward_parts=forward_parts,
                  forward_packed=forward_packed, last_valid_hidden=solution.last_valid_hidden)


def test_solutions_agree_with_variants_on_random_input(solution):
    rng = np.random.default_rng(0)
    patients = [[sorted(set(rng.integers(0, 9, rng.integers(0, 5)).tolist())) for _ in range(rng.integers(1, 8))]
                for _ in range(20)]
    x, mask = solution.multi_hot_visits(patients, 9)
    x2, mask2 = multi_hot_vectorised(patients, 9)
    assert torch.equal(x, x2) and torch.equal(mask, mask2)
    np.testing.assert_array_equal(solution.bag_of_codes(patients, 9), bag_vectorised(patients, 9))
    np.testing.assert_array_equal(solution.bag_of_codes(patients, 9), x.sum(1).numpy())
    outputs = torch.randn(20, x.shape[1], 4)
    assert torch.equal(solution.last_valid_hidden(outputs, mask), last_gather(outputs, mask))
    torch.manual_seed(0)
    embed, gru, head = nn.Linear(9, 4), nn.GRU(4, 3, batch_first=True), nn.Linear(5, 1)
    static = torch.randn(20, 2)
    torch.testing.assert_close(solution.visit_gru_forward(x, mask, static, embed, gru, head),
                               forward_packed(x, mask, static, embed, gru, head))


# ---------------------------------------------------------------------------------- the notebook downstream
VARIANTS = {  # exercise -> two correct variants written differently from the solution
    "multi_hot_visits": (multi_hot_vectorised, multi_hot_numpy),
    "bag_of_codes": (bag_vectorised, bag_from_torch),
    "last_valid_hidden": (last_loop, last_gather),
    "visit_gru_forward": (forward_packed, forward_last_by_mask),  # forward_one_by_one: accepted above, 10x slower
}


@pytest.mark.slow
@pytest.mark.parametrize("which", [0, 1])
def test_notebook_runs_with_correct_variants(which, tmp_path):
    """Every exercise replaced by a correct variant, the notebook runs in FAST mode through its last experiment
    (every assertion downstream of the exercises holds for these answers too)."""
    sources = {grade_id: variant_source(grade_id, variants[which]) for grade_id, variants in VARIANTS.items()}
    execute_with_solutions(NB, sources, until="## Summary")


# ---------------------------------------------------------------------------------- count features of section 7
def test_binned_counts_add_up_to_the_bag_of_codes(solution):
    """The three time bins split every visit's codes without loss: the binned counts sum to the bag of codes,
    and each visit lands in the bin of its months before the end of the window (edges 3 and 9 months)."""
    rng = np.random.default_rng(1)
    seqs = [[sorted(set(rng.integers(0, 6, rng.integers(0, 4)).tolist())) for _ in range(rng.integers(1, 7))]
            for _ in range(15)]
    months = [np.sort(rng.uniform(0, 18, len(s)))[::-1] for s in seqs]
    data = {"seqs": seqs, "months_before_end": months, "n_codes": 6,
            "static": rng.normal(size=(15, 2)).astype(np.float32)}
    binned = solution.binned_count_features(data)
    assert binned.shape == (15, 3 * 6 + 1 + 2)
    counts = np.expm1(binned[:, :18]).reshape(15, 3, 6)
    np.testing.assert_allclose(counts.sum(1), solution.bag_of_codes(seqs, 6), atol=1e-9)
    recent = [[v for v, m in zip(s, ms) if m < 3] for s, ms in zip(seqs, months)]
    np.testing.assert_allclose(counts[:, 0], solution.bag_of_codes(recent, 6), atol=1e-9)
    plain = solution.count_features(data)
    np.testing.assert_allclose(binned[:, 18:], plain[:, 6:], atol=1e-9)   # log(1 + visits), age and sex
    np.testing.assert_allclose(plain[:, 6], np.log1p([len(s) for s in seqs]), atol=1e-12)
