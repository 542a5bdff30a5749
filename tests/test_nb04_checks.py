"""The exercise checks of notebook 04 accept correct answers (the solution and independently written
variants) and reject the wrong ones the issue lists."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labutils.exercises import load_exercises, run_check

NB = "04_seizure_classification"


@pytest.fixture(scope="module")
def solution():
    return load_exercises(NB)


def rejects(grade_id, **definitions):
    with pytest.raises(AssertionError):
        run_check(NB, grade_id, **definitions)


# --- make_sequences -----------------------------------------------------------------------------

def make_sequences_loop(X, n_steps):
    X = np.asarray(X, dtype=np.float64)
    width = X.shape[1] // n_steps
    out = np.zeros((X.shape[0], n_steps, width), dtype=np.float32)
    for t in range(n_steps):
        out[:, t, :] = X[:, t * width:(t + 1) * width]
    return torch.from_numpy(out)


def make_sequences_interleaved(X, n_steps):  # reshape the wrong way round: samples interleave across steps
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    width = X.shape[1] // n_steps
    return X[:, : n_steps * width].reshape(len(X), width, n_steps).transpose(1, 2)


def make_sequences_drops_the_start(X, n_steps):
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    width = X.shape[1] // n_steps
    return X[:, X.shape[1] - n_steps * width:].reshape(len(X), n_steps, width)


def make_sequences_numpy(X, n_steps):
    X = np.asarray(X)
    width = X.shape[1] // n_steps
    return X[:, : n_steps * width].reshape(len(X), n_steps, width)


def make_sequences_float64(X, n_steps):
    X = torch.as_tensor(np.asarray(X), dtype=torch.float64)
    width = X.shape[1] // n_steps
    return X[:, : n_steps * width].reshape(len(X), n_steps, width)


def test_make_sequences_accepts_correct_versions(solution):
    run_check(NB, "make_sequences", make_sequences=solution.make_sequences)
    run_check(NB, "make_sequences", make_sequences=make_sequences_loop)


@pytest.mark.parametrize("wrong", [make_sequences_interleaved, make_sequences_drops_the_start,
                                   make_sequences_numpy, make_sequences_float64])
def test_make_sequences_rejects(wrong):
    rejects("make_sequences", make_sequences=wrong)


# --- grouped_split ------------------------------------------------------------------------------

def grouped_split_bernoulli(groups, test_fraction, seed):
    """Correct too: each group goes to test with probability test_fraction."""
    groups = np.asarray(groups)
    unique, inverse = np.unique(groups, return_inverse=True)
    to_test = np.random.default_rng(seed).random(len(unique)) < test_fraction
    mask = to_test[inverse.reshape(-1)]
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def grouped_split_loop(groups, test_fraction, seed):
    """Correct too: shuffle the groups in order of first appearance, take the first ones, loop over rows."""
    seen = []
    for g in groups:
        if g not in seen:
            seen.append(g)
    order = np.random.RandomState(seed).permutation(len(seen))
    test_groups = {seen[i] for i in order[: round(test_fraction * len(seen))]}
    train, test = [], []
    for i, g in enumerate(groups):
        (test if g in test_groups else train).append(i)
    return np.array(train, dtype=int), np.array(test, dtype=int)


def row_level_split(groups, test_fraction, seed):
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = int(round(test_fraction * len(groups)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def split_sharing_a_group(groups, test_fraction, seed):
    """Groups chosen correctly, but one test row of each of a few test groups is left in training."""
    groups = np.asarray(groups)
    unique = np.unique(groups)
    test_groups = np.random.default_rng(seed).choice(unique, int(round(test_fraction * len(unique))), replace=False)
    in_test = np.isin(groups, test_groups)
    for g in test_groups[:3]:
        in_test[np.flatnonzero(groups == g)[0]] = False
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def split_one_group_only(groups, test_fraction, seed):
    """No group is shared, but the test part is a single group, far from test_fraction of them."""
    groups = np.asarray(groups)
    test_group = np.random.default_rng(seed).choice(np.unique(groups))
    in_test = groups == test_group
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def split_ignoring_seed(groups, test_fraction, seed):
    return grouped_split_bernoulli(groups, test_fraction, seed=0)


def split_unseeded(groups, test_fraction, seed):
    return grouped_split_bernoulli(groups, test_fraction, seed=np.random.randint(1 << 30))


def split_returning_masks(groups, test_fraction, seed):
    train, test = grouped_split_bernoulli(groups, test_fraction, seed)
    mask = np.zeros(len(groups), dtype=bool)
    mask[test] = True
    return ~mask, mask


def split_dropping_rows(groups, test_fraction, seed):
    train, test = grouped_split_bernoulli(groups, test_fraction, seed)
    return train[:-1], test


def test_grouped_split_accepts_correct_versions(solution):
    run_check(NB, "grouped_split", grouped_split=solution.grouped_split)
    run_check(NB, "grouped_split", grouped_split=grouped_split_bernoulli)
    run_check(NB, "grouped_split", grouped_split=grouped_split_loop)


@pytest.mark.parametrize("wrong", [row_level_split, split_sharing_a_group, split_one_group_only,
                                   split_ignoring_seed, split_unseeded, split_returning_masks, split_dropping_rows])
def test_grouped_split_rejects(wrong):
    rejects("grouped_split", grouped_split=wrong)


# --- target_replication_loss --------------------------------------------------------------------

def tr_loop(step_logits, y, alpha):
    T = step_logits.shape[1]
    per_step = [F.cross_entropy(step_logits[:, t], y) for t in range(T)]
    return alpha * sum(per_step) / T + (1 - alpha) * per_step[-1]


def tr_expand(step_logits, y, alpha):
    N, T, _ = step_logits.shape
    per_step = F.cross_entropy(step_logits.transpose(1, 2), y[:, None].expand(N, T), reduction="none")
    return alpha * per_step.mean() + (1 - alpha) * per_step[:, -1].mean()


def tr_swapped_alpha(step_logits, y, alpha):
    return tr_loop(step_logits, y, 1 - alpha)


def tr_first_step_as_last(step_logits, y, alpha):
    T = step_logits.shape[1]
    per_step = [F.cross_entropy(step_logits[:, t], y) for t in range(T)]
    return alpha * sum(per_step) / T + (1 - alpha) * per_step[0]


def tr_sum_over_steps(step_logits, y, alpha):
    T = step_logits.shape[1]
    per_step = [F.cross_entropy(step_logits[:, t], y) for t in range(T)]
    return alpha * sum(per_step) + (1 - alpha) * per_step[-1]


def tr_labels_misaligned(step_logits, y, alpha):  # y.repeat(T) pairs step t of sequence i with the wrong label
    N, T, K = step_logits.shape
    per_step = F.cross_entropy(step_logits.reshape(N * T, K), y.repeat(T), reduction="none").reshape(N, T)
    return alpha * per_step.mean() + (1 - alpha) * per_step[:, -1].mean()


def tr_detached_steps(step_logits, y, alpha):  # the replicated part carries no gradient
    T = step_logits.shape[1]
    mean_part = sum(F.cross_entropy(step_logits[:, t], y) for t in range(T)) / T
    return alpha * mean_part.detach() + (1 - alpha) * F.cross_entropy(step_logits[:, -1], y)


def test_target_replication_accepts_correct_versions(solution):
    run_check(NB, "target_replication_loss", target_replication_loss=solution.target_replication_loss)
    run_check(NB, "target_replication_loss", target_replication_loss=tr_loop)
    run_check(NB, "target_replication_loss", target_replication_loss=tr_expand)


@pytest.mark.parametrize("wrong", [tr_swapped_alpha, tr_first_step_as_last, tr_sum_over_steps,
                                   tr_labels_misaligned, tr_detached_steps])
def test_target_replication_rejects(wrong):
    rejects("target_replication_loss", target_replication_loss=wrong)


def test_the_solution_matches_a_hand_computation(solution):
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])
    got = solution.target_replication_loss(logits, torch.tensor([0]), 0.5)
    assert abs(got.item() - (0.5 * (math.log(2) + math.log(4 / 3)) / 2 + 0.5 * math.log(4 / 3))) < 1e-6
