"""Doctor AI's next-visit task (Choi et al. 2016) built from a synthetic cohort, with its exact oracles.

``doctor_ai_task`` keeps the patients with at least two visits, builds the 3-digit diagnosis vocabulary and
splits by PATIENT (``split``: "train"/"val"/"test"). Its oracles see the latent state, which no model does:
the probability that each group is coded at the next visit given the state AT that visit (``oracle_next``, the
clairvoyant ceiling) or given the state at the current visit only (``oracle_next_given_t``, the tighter one),
and the expected log gap to the next visit. The heart-failure case-control design lives in ``case_control``.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from .codes import Vocabulary, build_vocabulary
from .cohort import EHRCohort, patient_split
from .codebook import codebook
from .generator import SyntheticEHR
from .visit_oracle import emission_probs, expected_log_gap, next_visit_given_t


class NextVisitTask:
    """Doctor AI's next-visit task: patients with >= ``min_visits`` visits, a patient-level split, the 3-digit
    diagnosis vocabulary and (computed on first use) the clairvoyant oracles."""

    def __init__(self, synth: SyntheticEHR, cohort: EHRCohort, split: np.ndarray, vocab: Vocabulary):
        self.synth, self.cohort, self.split, self.vocab = synth, cohort, split, vocab

    def __len__(self) -> int:
        return len(self.cohort.patients)

    def part(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.split == name)

    def _visit_index(self):
        table = self.cohort.visit_table()
        counts = self.cohort.visit_counts()
        return table["patient_id"].to_numpy(), table["month"].to_numpy(), counts

    @cached_property
    def oracle_next(self) -> list:
        """Per patient (n_visits - 1, len(vocab)) float32: P(group coded at visit t+1 | latent state then)."""
        pid, month, counts = self._visit_index()
        book = codebook(self.synth.params)
        cols = np.array([book.index[c] for c in self.vocab.codes])
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        target = np.ones(len(pid), bool)
        target[first] = False  # visit t+1 for t = 0..n-2
        out = np.zeros((len(pid), len(cols)), np.float32)
        for a in range(0, len(pid), 20000):
            sel = np.flatnonzero(target[a:a + 20000]) + a
            out[sel] = emission_probs(self.synth, pid[sel], month[sel])[:, cols]
        return [out[f + 1:f + c] for f, c in zip(first, counts)]

    def _test_sources(self):
        """(patient index, visit table rows of its visits but the last) of every test patient."""
        pid, month, counts = self._visit_index()
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return [(i, pid[first[i]:first[i] + counts[i] - 1], month[first[i]:first[i] + counts[i] - 1])
                for i in self.part("test")]

    def _per_test_patient(self, score) -> dict:
        sources = self._test_sources()
        if not sources:
            return {}
        out = score(np.concatenate([p for _, p, _ in sources]), np.concatenate([m for _, _, m in sources]))
        bounds = np.cumsum([0] + [len(p) for _, p, _ in sources])
        return {i: out[a:b] for (i, _, _), a, b in zip(sources, bounds[:-1], bounds[1:])}

    @cached_property
    def oracle_next_given_t(self) -> dict:
        """Test patient index -> (n_visits - 1, len(vocab)) float32: P(group coded at visit t+1 | state at visit t)."""
        book = codebook(self.synth.params)
        cols = np.array([book.index[c] for c in self.vocab.codes])
        return self._per_test_patient(
            lambda p, m: next_visit_given_t(self.synth, p, m, cols).astype(np.float32))

    @cached_property
    def oracle_log_gap(self) -> dict:
        """Test patient index -> (n_visits - 1,): E[log days to the next visit | latent state at visit t]."""
        return self._per_test_patient(lambda p, m: expected_log_gap(self.synth, p, m))


def doctor_ai_task(synth: SyntheticEHR, min_visits: int = 2, seed: int = 0, split=(0.75, 0.10, 0.15),
                   min_count: int = 1) -> NextVisitTask:
    """Doctor AI sequences: patients with >= ``min_visits`` visits; vocabulary of 3-digit D_ groups (whole cohort)."""
    if min_visits < 2:
        raise ValueError(f"doctor_ai_task needs min_visits >= 2 (an input visit and a target visit), got {min_visits}.")
    cohort = synth.cohort.drop_short(min_visits)
    cohort.name = f"Doctor AI sequences (>= {min_visits} visits)"
    vocab = build_vocabulary(cohort, grouped=True, prefixes=("D_",), min_count=min_count)
    parts = patient_split(cohort.patients["patient_id"], split, seed)
    split_arr = np.array([parts[p] for p in cohort.patients["patient_id"].tolist()], dtype=object)
    return NextVisitTask(synth, cohort, split_arr, vocab)
