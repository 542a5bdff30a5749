"""Notebook 05's check cells accept correct answers and reject the wrong ones listed in issue 8."""
import numpy as np
import pytest
import torch

from labutils.exercises import load_exercises, run_check

NB = "05_heart_failure"


@pytest.fixture(scope="module")
def solution():
    return load_exercises(NB)


# ---------------------------------------------------------------------------------- multi_hot_visits
def multi_hot_vectorised(patients, n_codes):
    """Independent correct version: scatter every (patient, visit, code) triple at once."""
    lengths = torch.tensor([len(p) for p in patients], dtype=torch.long)
    t_max = int(lengths.max()) if len(patients) else 0
    triples = [(n, t, c) for n, p in enumerate(patients) for t, v in enumerate(p) for c in v]
    x = torch.zeros(len(patients), t_max, n_codes)
    if triples:
        n, t, c = torch.tensor(triples).T
        x[n, t, c] = 1.0
    return x, torch.arange(t_max)[None, :] < lengths[:, None]


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


def test_multi_hot_solution_and_variant_pass(solution):
    run_check(NB, "multi_hot_visits", multi_hot_visits=solution.multi_hot_visits)
    run_check(NB, "multi_hot_visits", multi_hot_visits=multi_hot_vectorised)


@pytest.mark.parametrize("wrong", [multi_hot_zero_is_padding, multi_hot_mask_from_codes, multi_hot_shifted,
                                   multi_hot_counts, multi_hot_float_mask])
def test_multi_hot_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "multi_hot_visits", multi_hot_visits=wrong)


# ---------------------------------------------------------------------------------- bag_of_codes
def bag_vectorised(patients, n_codes):
    """Independent correct version: one bincount over (patient * n_codes + code)."""
    flat = [n * n_codes + c for n, p in enumerate(patients) for v in p for c in v]
    return np.bincount(np.asarray(flat, dtype=np.int64), minlength=len(patients) * n_codes).reshape(len(patients), n_codes)


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


def test_bag_solution_and_variant_pass(solution):
    run_check(NB, "bag_of_codes", bag_of_codes=solution.bag_of_codes)
    run_check(NB, "bag_of_codes", bag_of_codes=bag_vectorised)


@pytest.mark.parametrize("wrong", [bag_presence, bag_per_visit_rows, bag_last_visit_only, bag_zero_is_padding,
                                   bag_visits_with_code_as_tensor])
def test_bag_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "bag_of_codes", bag_of_codes=wrong)


# ---------------------------------------------------------------------------------- last_valid_hidden
def last_loop(outputs, mask):
    """Independent correct version: a loop over rows, stacked."""
    rows = []
    for n in range(outputs.shape[0]):
        length = int(mask[n].sum())
        rows.append(outputs[n, length - 1])
    return torch.stack(rows)


def last_gather(outputs, mask):
    """Independent correct version: torch.gather along the time axis."""
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


def test_last_valid_solution_and_variants_pass(solution):
    run_check(NB, "last_valid_hidden", last_valid_hidden=solution.last_valid_hidden)
    run_check(NB, "last_valid_hidden", last_valid_hidden=last_loop)
    run_check(NB, "last_valid_hidden", last_valid_hidden=last_gather)


@pytest.mark.parametrize("wrong", [last_padded_step, last_off_by_one, last_off_by_one_low, last_first_step,
                                   last_detached, last_masked_mean])
def test_last_valid_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "last_valid_hidden", last_valid_hidden=wrong)


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
