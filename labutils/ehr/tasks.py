"""Prediction tasks built from a synthetic cohort, each with its exact oracle.

- ``hf_case_control``: heart-failure onset as a case-control study, the design of Choi et al. 2017 (JAMIA).
  Cases: HF diagnosis (HFDx) at age 40-85; the HFDx is the first visit carrying a qualifying ICD-9 HF code, read
  from the FULL codes (402.91 is HF, 402.90 is not; after 3-digit grouping both are 402). Up to
  ``controls_per_case`` controls per case, matched on sex and 5-year age band at the index date, which they share
  with the case; a control must be free of HF through index + ``control_free_months`` (Choi: 182 days). Both need
  ``min_visits`` visits in the observation window ``[index - pred - obs, index - pred)`` (months); the model sees
  only those visits. ``oracle`` is the exact likelihood ratio from the latent state at the window's last month.
- ``doctor_ai_task``: Doctor AI's next-visit prediction (Choi et al. 2016) on patients with >= 2 visits, with the
  clairvoyant next-visit code probabilities and expected log gap as oracles.

Both split by PATIENT (``split``: "train"/"val"/"test"), never by row or sample.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .cohort import EHRCohort, Vocabulary, build_vocabulary, is_hf_code
from .generator import DAYS_PER_MONTH, SyntheticEHR, codebook
from .oracle import emission_probs, expected_log_gap, hf_likelihood_ratio

SPLITS = ("train", "val", "test")


def patient_split(ids, fractions=(0.6, 0.2, 0.2), seed: int = 0) -> dict:
    """Assign each distinct id to "train"/"val"/"test" at random in the given proportions: {id: part}."""
    ids = pd.unique(np.asarray(ids))
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}.")
    order = np.random.default_rng(seed).permutation(len(ids))
    cut = np.round(np.cumsum(fractions)[:2] * len(ids)).astype(int)
    part = np.empty(len(ids), dtype=object)
    part[order[:cut[0]]], part[order[cut[0]:cut[1]]], part[order[cut[1]:]] = SPLITS
    return dict(zip(ids.tolist(), part.tolist()))


def hf_diagnosis(cohort: EHRCohort) -> pd.DataFrame:
    """First visit of each patient with a qualifying HF code (full codes): patient_id, hf_time (NaT if none)."""
    table = cohort.visit_table()
    distinct = {c for codes in table["codes"] for c in codes}
    hf = {c for c in distinct if is_hf_code(c)}
    has_hf = np.fromiter((not hf.isdisjoint(codes) for codes in table["codes"]), bool, len(table))
    first = table[has_hf].groupby("patient_id", sort=False)["time"].min()
    out = pd.DataFrame({"patient_id": cohort.patients["patient_id"]})
    out["hf_time"] = out["patient_id"].map(first)
    return out


@dataclass(eq=False)
class HFTask:
    """One row per sample (a case or a matched control); ``cohort`` holds only observation-window visits."""

    cohort: EHRCohort
    labels: np.ndarray
    index_time: np.ndarray
    oracle: np.ndarray
    age: np.ndarray
    sex: np.ndarray
    split: np.ndarray
    source_patient: np.ndarray
    index_month: np.ndarray
    case_id: np.ndarray  # the sample id of the case each sample belongs to (its matched set)
    obs_months: int
    pred_months: int
    window_end: np.ndarray  # first moment NOT visible to the model, per sample

    def __len__(self) -> int:
        return len(self.labels)

    def part(self, name: str) -> np.ndarray:
        """Sample positions of one split part ("train", "val" or "test")."""
        return np.flatnonzero(self.split == name)

    def summary(self) -> dict:
        return {"samples": len(self), "cases": int(self.labels.sum()), "controls": int((self.labels == 0).sum()),
                "patients": int(len(np.unique(self.source_patient))),
                **{f"{p}_samples": int((self.split == p).sum()) for p in SPLITS}}


def hf_case_control(synth: SyntheticEHR, obs_months: int = 18, pred_months: int = 0, controls_per_case: int = 10,
                    min_visits: int = 2, seed: int = 0, control_free_months: int = 6, age_range=(40, 85),
                    split=(0.6, 0.2, 0.2), with_oracle: bool = True) -> HFTask:
    """The HF case-control cohort of Choi et al. 2017 built from a synthetic EHR (see the module docstring).

    ``with_oracle=False`` skips the oracle (NaN), e.g. to rebuild only the records quickly.
    """
    if obs_months < 1 or pred_months < 0 or controls_per_case < 1 or min_visits < 1:
        raise ValueError("hf_case_control needs obs_months >= 1, pred_months >= 0, controls_per_case >= 1, "
                         f"min_visits >= 1 (got {obs_months}, {pred_months}, {controls_per_case}, {min_visits}).")
    cohort, M = synth.cohort, synth.months
    rng = np.random.default_rng(seed)
    N = len(cohort.patients)
    # HFDx from the records (full codes), as a month of the grid
    dx = hf_diagnosis(cohort)["hf_time"].to_numpy()
    start = np.datetime64(synth.start_date, "D")
    day = (dx.astype("datetime64[D]") - start).astype(np.float64)
    grid = np.round(DAYS_PER_MONTH * np.arange(M + 1))
    dx_month = np.where(np.isnat(dx), -1, np.searchsorted(grid, day, side="right") - 1)
    # visits per patient-month, from the records
    vt = cohort.visits
    vmonth = np.searchsorted(grid, (vt["time"].to_numpy().astype("datetime64[D]") - start).astype(np.float64),
                             side="right") - 1
    pos = pd.Series(np.arange(N), index=cohort.patients["patient_id"].to_numpy())
    vpat = pos.reindex(vt["patient_id"].to_numpy()).to_numpy()
    counts = np.zeros((N, M + 1), np.int64)
    np.add.at(counts, (vpat, vmonth + 1), 1)
    cum = np.cumsum(counts, axis=1)  # cum[:, m] = visits before month m
    birth = cohort.patients["birth_date"].to_numpy().astype("datetime64[D]")
    male = (cohort.patients["sex"].to_numpy() == "M")

    def age_at(patients, month):
        return ((start + grid[month].astype("timedelta64[D]")) - birth[patients]).astype(np.float64) / 365.25

    lag = pred_months + obs_months
    first_idx, last_idx = lag, M - 1 - control_free_months
    cases = np.flatnonzero((dx_month >= first_idx) & (dx_month <= last_idx))
    idx = dx_month[cases]
    a_case = age_at(cases, idx)  # at the start of the index month: the matching band
    a_dx = (dx[cases].astype("datetime64[D]") - birth[cases]).astype(np.float64) / 365.25  # at the HFDx
    n_obs = cum[cases, idx - pred_months] - cum[cases, idx - lag]
    keep = (a_dx >= age_range[0]) & (a_dx <= age_range[1]) & (n_obs >= min_visits)
    cases, idx, a_case = cases[keep], idx[keep], a_case[keep]

    src, lab, imon, case_of = [cases], [np.ones(len(cases), np.int64)], [idx], [np.arange(len(cases))]
    free_until = np.where(dx_month < 0, M + 1, dx_month)  # first month with HF (M + 1: never)
    for month in np.unique(idx):
        in_month = np.flatnonzero(idx == month)
        ok = (free_until > month + control_free_months) & \
             (cum[:, month - pred_months] - cum[:, month - lag] >= min_visits)
        band = np.floor(age_at(np.arange(N), month) / 5)
        for k in in_month:
            pool = np.flatnonzero(ok & (male == male[cases[k]]) & (band == np.floor(a_case[k] / 5)))
            chosen = rng.choice(pool, size=min(controls_per_case, len(pool)), replace=False) if len(pool) else pool
            src.append(chosen)
            lab.append(np.zeros(len(chosen), np.int64))
            imon.append(np.full(len(chosen), month))
            case_of.append(np.full(len(chosen), k))
    src, labels, imon, case_of = (np.concatenate(a).astype(np.int64) for a in (src, lab, imon, case_of))
    order = np.lexsort((labels == 0, case_of))  # each case followed by its controls
    src, labels, imon, case_of = src[order], labels[order], imon[order], case_of[order]
    n = len(src)

    index_time = np.where(labels == 1, dx[src].astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
    case_time = dict(zip(case_of[labels == 1].tolist(), index_time[labels == 1]))
    index_time = np.array([case_time[c] for c in case_of], dtype="datetime64[ns]")
    window_start = (start + grid[imon - lag].astype("timedelta64[D]")).astype("datetime64[ns]")
    window_end = (start + grid[imon - pred_months].astype("timedelta64[D]")).astype("datetime64[ns]")

    # the model's input: only the visits inside each sample's window
    table = cohort.visit_table()
    bounds = np.concatenate([[0], np.cumsum(cohort.visit_counts())])
    times = table["time"].to_numpy()
    rows, sample = [], []
    for s in range(n):
        a, b = bounds[src[s]], bounds[src[s] + 1]
        lo = a + np.searchsorted(times[a:b], window_start[s], side="left")
        hi = a + np.searchsorted(times[a:b], window_end[s], side="left")
        rows.append(np.arange(lo, hi))
        sample.append(np.full(hi - lo, s))
    rows, sample = np.concatenate(rows).astype(np.int64), np.concatenate(sample).astype(np.int64)
    visits = pd.DataFrame({"patient_id": sample, "visit_id": np.arange(len(rows)), "time": times[rows],
                           "codes": table["codes"].to_numpy()[rows],
                           "source_visit_id": table["visit_id"].to_numpy()[rows]})
    patients = pd.DataFrame({"patient_id": np.arange(n), "sex": cohort.patients["sex"].to_numpy()[src],
                             "birth_date": cohort.patients["birth_date"].to_numpy()[src],
                             "source_patient": cohort.patients["patient_id"].to_numpy()[src]})
    task_cohort = EHRCohort(patients, visits, name=f"HF case-control (obs {obs_months} mo, pred {pred_months} mo)")

    parts = patient_split(src, split, seed)
    split_arr = np.array([parts[p] for p in src.tolist()], dtype=object)
    oracle = hf_likelihood_ratio(synth, src, imon - pred_months - 1, pred_months, control_free_months) \
        if (n and with_oracle) else np.full(n, np.nan)
    age = ((index_time.astype("datetime64[D]") - birth[src]).astype(np.float64) / 365.25)
    return HFTask(task_cohort, labels, index_time, oracle.astype(np.float64), age,
                  cohort.patients["sex"].to_numpy()[src], split_arr, src, imon, case_of, obs_months,
                  pred_months, window_end)


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

    @cached_property
    def oracle_log_gap(self) -> list:
        """Per patient (n_visits - 1,): E[log days to the next visit | latent state at visit t], t = 0..n-2."""
        pid, month, counts = self._visit_index()
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        source = np.ones(len(pid), bool)
        source[first + counts - 1] = False  # every visit but the last
        out = np.zeros(len(pid))
        sel = np.flatnonzero(source)
        out[sel] = expected_log_gap(self.synth, pid[sel], month[sel])
        return [out[f:f + c - 1] for f, c in zip(first, counts)]


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
