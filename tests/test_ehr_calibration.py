"""The generator's model-free calibration targets at a test size (docs/ehr-generator.md, section 5): the
"patient frequency" baseline of Doctor AI near the paper's figures, and an oracle clearly above it but below 1.
``make bench`` (benchmarks/bench_ehr_calibration.py) measures the same over several seeds at a larger size."""
import numpy as np
import pytest

from labutils.ehr import doctor_ai_task, generate_cohort

PAPER = {10: 0.566, 20: 0.674, 30: 0.717}  # Choi et al. 2016, "most frequent" baseline


def pooled_recall(scores, targets, k):
    """Mean over visits with a true group of |top-k ∩ true| / |true| (scores and targets: (V, C))."""
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    hits = np.take_along_axis(targets, top, axis=1).sum(1)
    n_true = targets.sum(1)
    return float((hits[n_true > 0] / n_true[n_true > 0]).mean())


@pytest.fixture(scope="module")
def next_visit():
    """Targets, patient-frequency scores and the clairvoyant oracle of the test patients of one cohort."""
    task = doctor_ai_task(generate_cohort(2500, seed=7), seed=7)
    seqs, C = task.cohort.sequences(task.vocab), len(task.vocab)
    hot = [np.zeros((len(s), C)) for s in seqs]
    for h, s in zip(hot, seqs):
        for t, visit in enumerate(s):
            h[t, visit] = 1.0
    rate = np.concatenate([h[1:] for h, part in zip(hot, task.split) if part == "train"]).mean(0)
    test = task.part("test")
    targets = np.concatenate([hot[i][1:] for i in test])
    frequency = np.concatenate([np.cumsum(hot[i], 0)[:-1] + rate for i in test])  # the global rate breaks ties
    oracle = np.concatenate([task.oracle_next[i] for i in test])
    return targets, frequency, oracle


@pytest.mark.parametrize("k", [10, 20, 30])
def test_patient_frequency_is_near_the_papers_baseline(next_visit, k):
    targets, frequency, _ = next_visit
    # the benchmark's tolerance is 0.04 over 3 seeds of 5,000 patients; 0.05 here for one small cohort
    assert abs(pooled_recall(frequency, targets, k) - PAPER[k]) < 0.05


def test_the_oracle_leaves_something_to_learn_but_not_everything(next_visit):
    targets, frequency, oracle = next_visit
    at_30 = pooled_recall(oracle, targets, 30)
    assert at_30 >= pooled_recall(frequency, targets, 30) + 0.12
    assert at_30 < 0.97
