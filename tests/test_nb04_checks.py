"""Notebook 04's exercise checks accept every correct answer and reject the usual mistakes.

For each exercise: (1) the notebook's own solution passes its check cell; (2) at least two correct
versions written differently pass too (a loop, another torch idiom, another valid random choice);
(3) every listed mistake is rejected with an AssertionError. A slow test runs the whole notebook in
FAST mode with each set of correct versions substituted for the solutions: every downstream
assertion must hold for them too. Among them is the ``grouped_split`` that shuffles the distinct
recordings and takes the first ones, a valid split different from the solution's.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labutils.notebook_code import execute_with_solutions, load_notebook, run_check, variant_source

NB = "04_seizure_classification"


@pytest.fixture(scope="module")
def solution():
    return load_notebook(NB)


def rejects(grade_id, **definitions):
    with pytest.raises(AssertionError):
        run_check(NB, grade_id, **definitions)


# Correct versions are self-contained (numpy/torch only), so the slow test can paste their source.

# --- make_sequences -----------------------------------------------------------------------------

def make_sequences_loop(X, n_steps):
    """Correct: one window at a time, in NumPy, then one conversion."""
    X = np.asarray(X, dtype=np.float64)
    width = X.shape[1] // n_steps
    out = np.zeros((X.shape[0], n_steps, width), dtype=np.float32)
    for t in range(n_steps):
        out[:, t, :] = X[:, t * width:(t + 1) * width]
    return torch.from_numpy(out)


def make_sequences_unfold(X, n_steps):
    """Correct: torch's sliding windows with a step equal to the window."""
    X = torch.as_tensor(np.asarray(X)).float()
    width = X.shape[1] // n_steps
    return X.unfold(1, width, width)[:, :n_steps].contiguous()


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


@pytest.mark.parametrize("correct", ["solution", make_sequences_loop, make_sequences_unfold])
def test_make_sequences_accepts_correct_versions(solution, correct):
    run_check(NB, "make_sequences", make_sequences=solution.make_sequences if correct == "solution" else correct)


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


def grouped_split_shuffle_take(groups, test_fraction, seed):
    """Correct too: shuffle the distinct groups and take the first ones (a different valid split from
    the solution's rng.choice for the same seed)."""
    groups = np.asarray(groups)
    shuffled = np.random.default_rng(seed).permutation(np.unique(groups))
    test_groups = shuffled[: int(round(test_fraction * len(shuffled)))]
    in_test = np.isin(groups, test_groups)
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


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


@pytest.mark.parametrize("correct", ["solution", grouped_split_bernoulli, grouped_split_loop,
                                     grouped_split_shuffle_take])
def test_grouped_split_accepts_correct_versions(solution, correct):
    run_check(NB, "grouped_split", grouped_split=solution.grouped_split if correct == "solution" else correct)


def test_shuffle_and_take_is_a_different_split(solution):
    """The variant that once failed downstream really draws another split than the solution."""
    groups = np.repeat(np.arange(100), 23)
    _, ours = solution.grouped_split(groups, 0.2, 0)
    _, theirs = grouped_split_shuffle_take(groups, 0.2, 0)
    assert set(groups[ours]) != set(groups[theirs])


@pytest.mark.parametrize("wrong", [row_level_split, split_sharing_a_group, split_one_group_only,
                                   split_ignoring_seed, split_unseeded, split_returning_masks, split_dropping_rows])
def test_grouped_split_rejects(wrong):
    rejects("grouped_split", grouped_split=wrong)


# --- bidirectional_states -----------------------------------------------------------------------

def bidirectional_by_index(steps, rnn_forward, rnn_backward):
    """Correct: reverse time with an index tensor."""
    reverse = torch.arange(steps.shape[1] - 1, -1, -1)
    backward_states = rnn_backward(steps[:, reverse])[0][:, reverse]
    return torch.cat((rnn_forward(steps)[0], backward_states), dim=-1)


def bidirectional_by_stack(steps, rnn_forward, rnn_backward):
    """Correct: reverse time by stacking the steps in reverse order, one slice at a time."""
    T = steps.shape[1]
    reversed_steps = torch.stack([steps[:, t] for t in range(T - 1, -1, -1)], dim=1)
    backward_reversed = rnn_backward(reversed_steps)[0]
    backward_states = torch.stack([backward_reversed[:, T - 1 - t] for t in range(T)], dim=1)
    forward_states = rnn_forward(steps)[0]
    return torch.cat([forward_states, backward_states], dim=2)


def bidirectional_not_flipped_back(steps, rnn_forward, rnn_backward):
    return torch.cat([rnn_forward(steps)[0], rnn_backward(steps.flip(1))[0]], dim=2)


def bidirectional_never_flipped(steps, rnn_forward, rnn_backward):
    return torch.cat([rnn_forward(steps)[0], rnn_backward(steps)[0]], dim=2)


def bidirectional_forward_weights_twice(steps, rnn_forward, rnn_backward):  # the backward pass reuses W
    return torch.cat([rnn_forward(steps)[0], rnn_forward(steps.flip(1))[0].flip(1)], dim=2)


def bidirectional_backward_first(steps, rnn_forward, rnn_backward):
    return torch.cat([rnn_backward(steps.flip(1))[0].flip(1), rnn_forward(steps)[0]], dim=2)


def bidirectional_flips_the_batch(steps, rnn_forward, rnn_backward):
    return torch.cat([rnn_forward(steps)[0], rnn_backward(steps.flip(0))[0].flip(0)], dim=2)


def bidirectional_summed(steps, rnn_forward, rnn_backward):
    return rnn_forward(steps)[0] + rnn_backward(steps.flip(1))[0].flip(1)


def bidirectional_last_step_only(steps, rnn_forward, rnn_backward):
    return torch.cat([rnn_forward(steps)[0][:, -1], rnn_backward(steps.flip(1))[0][:, -1]], dim=1)


def bidirectional_numpy_round_trip(steps, rnn_forward, rnn_backward):  # no gradient reaches the input
    flipped = torch.from_numpy(steps.detach().numpy()[:, ::-1].copy())
    return torch.cat([rnn_forward(steps)[0], rnn_backward(flipped)[0].flip(1)], dim=2)


@pytest.mark.parametrize("correct", ["solution", bidirectional_by_index, bidirectional_by_stack])
def test_bidirectional_states_accepts_correct_versions(solution, correct):
    function = solution.bidirectional_states if correct == "solution" else correct
    run_check(NB, "bidirectional_states", bidirectional_states=function)


@pytest.mark.parametrize("wrong", [bidirectional_not_flipped_back, bidirectional_never_flipped,
                                   bidirectional_forward_weights_twice, bidirectional_backward_first,
                                   bidirectional_flips_the_batch, bidirectional_summed,
                                   bidirectional_last_step_only, bidirectional_numpy_round_trip])
def test_bidirectional_states_rejects(wrong):
    rejects("bidirectional_states", bidirectional_states=wrong)


def test_the_model_matches_a_bidirectional_pytorch_layer(solution):
    """ConvBiRNN's two one-directional GRUs + bidirectional_states = one nn.GRU(bidirectional=True)."""
    torch.manual_seed(0)
    model = solution.ConvBiRNN("gru", hidden=6, channels=4).eval()
    both = torch.nn.GRU(8, 6, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name, weight in both.named_parameters():
            source = model.rnn_backward if name.endswith("_reverse") else model.rnn_forward
            weight.copy_(getattr(source, name.removesuffix("_reverse")))
    steps = torch.randn(3, 11, 8)
    expected = both(steps)[0]
    got = solution.bidirectional_states(steps, model.rnn_forward, model.rnn_backward)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


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


@pytest.mark.parametrize("correct", ["solution", tr_loop, tr_expand])
def test_target_replication_accepts_correct_versions(solution, correct):
    function = solution.target_replication_loss if correct == "solution" else correct
    run_check(NB, "target_replication_loss", target_replication_loss=function)


@pytest.mark.parametrize("wrong", [tr_swapped_alpha, tr_first_step_as_last, tr_sum_over_steps,
                                   tr_labels_misaligned, tr_detached_steps])
def test_target_replication_rejects(wrong):
    rejects("target_replication_loss", target_replication_loss=wrong)


def test_the_solution_matches_a_hand_computation(solution):
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])
    got = solution.target_replication_loss(logits, torch.tensor([0]), 0.5)
    assert abs(got.item() - (0.5 * (math.log(2) + math.log(4 / 3)) / 2 + 0.5 * math.log(4 / 3))) < 1e-6


# --- the notebook's library code --------------------------------------------------------------------

def test_eeg_features_are_the_documented_quantities(solution):
    fs, t = 173.61, np.arange(178) / 173.61
    sine = 50 * np.sin(2 * np.pi * 10 * t)[None]  # a 10 Hz rhythm: alpha
    features = solution.eeg_features(sine, fs).iloc[0]
    assert features["alpha share"] > 0.9
    assert abs(features["Hjorth mobility"] - 2 * np.pi * 10 / fs) < 0.01  # mobility of a sine: ω per sample
    assert abs(features["Hjorth complexity"] - 1) < 0.05  # a pure sine has complexity 1
    assert abs(features["zero-crossing rate"] - 20 / fs) < 0.01  # two crossings per period
    assert abs(features["log variance"] - np.log(50 ** 2 / 2)) < 0.05


def test_recording_level_scores_average_each_recordings_chunks(solution):
    probabilities = np.array([[0.6, 0.4], [0.0, 1.0], [0.9, 0.1], [0.8, 0.2]])
    labels = np.array([0, 0, 1, 1])
    recordings = np.array(["a", "a", "b", "b"])
    result = solution.scores(probabilities, labels, recordings)
    assert result["accuracy"] == 0.25  # chunk level: only the first chunk is right
    assert result["recording accuracy"] == 0.0  # a: mean (0.3, 0.7) → 1, wrong; b: (0.85, 0.15) → 0, wrong


def test_augmentation_acts_in_training_mode_only(solution):
    augment = solution.EEGAugment(crop=160)
    x = torch.randn(4, 178, 1)
    assert torch.equal(augment.eval()(x), x)
    out = augment.train()(x)
    assert out.shape == (4, 160, 1)
    for i in range(4):  # each chunk: a window of 160 consecutive samples, times one gain of either sign
        windows = torch.stack([x[i, s:s + 160, 0] for s in range(19)])  # the 19 possible windows
        gains = (out[i, :, 0] * windows).sum(1) / (windows ** 2).sum(1)
        fit = ((gains[:, None] * windows - out[i, :, 0]) ** 2).sum(1)
        assert fit.min() < 1e-8, "the augmented chunk is not a scaled window of the input"
        assert 0.4 < gains[fit.argmin()].abs() < 2.5


# --- the notebook runs with correct versions written differently ----------------------------------

VARIANTS = {
    "loops": {"make_sequences": make_sequences_loop, "grouped_split": grouped_split_shuffle_take,
              "bidirectional_states": bidirectional_by_stack, "target_replication_loss": tr_loop},
    "other idioms": {"make_sequences": make_sequences_unfold, "grouped_split": grouped_split_bernoulli,
                     "bidirectional_states": bidirectional_by_index, "target_replication_loss": tr_expand},
}


@pytest.mark.slow
@pytest.mark.parametrize("which", list(VARIANTS))
def test_notebook_runs_with_correct_versions(which):
    """FAST mode, every exercise replaced by a correct version written differently from the solution
    (among them a grouped_split that draws a different valid split): the notebook runs to the end, so
    every check and every downstream assertion holds for these answers too. Every exercise is used up
    to the last section (grouped_split feeds every experiment), so the whole notebook runs."""
    sources = {name: variant_source(name, variant) for name, variant in VARIANTS[which].items()}
    execute_with_solutions(NB, sources, timeout=600)
