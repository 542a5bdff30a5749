"""The heart-failure case-control design of Choi et al. (2017) on any ``EHRCohort``.

- **Case**: a patient whose heart-failure diagnosis (HFDx: the first visit with a qualifying ICD-9 HF code, read
  from the FULL codes: 402.91 is HF, 402.90 is not; after 3-digit grouping both are 402) falls at age 40-85.
  The HFDx is the case's **index date**.
- **Controls**: up to ``controls_per_case`` per case, drawn at random among the patients of the same sex and the
  same 5-year age band at the start of the index month, free of HF through index + ``control_free_months``
  (the paper asks for about 6 months); they share the case's index date.
- **Window**: time is cut into months (a grid of month starts, ``DAYS_PER_MONTH`` days apart). The model sees only
  the visits of the observation window ``[index month - pred - obs, index month - pred)``; the last ``pred``
  months before the index month are the hidden prediction window. Cases and controls need ``min_visits``
  visits in their window.
- **Split** by patient (a person who is a control for one case and a case later never lands in two parts).

Real records (MIMIC, your own) and the synthetic cohort go through the same code. For real records the month
grid starts at the earliest visit and "free of HF" means no qualifying code recorded. When ``data`` is a
``SyntheticEHR``, the grid is the generator's own and each sample also gets its **oracle** score, the exact
likelihood ratio from the latent state in the window's last month (``oracle.hf_likelihood_ratio``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .codes import is_hf_code
from .cohort import EHRCohort, patient_split, SPLITS
from .generator import SyntheticEHR
from .parameters import DAYS_PER_MONTH
from .oracle import hf_likelihood_ratio

DAYS_PER_YEAR = 365.25


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


def calendar_months(cohort: EHRCohort) -> np.ndarray:
    """Month starts (datetime64[D]) from the day of the earliest visit until after the latest one."""
    times = cohort.visits["time"].to_numpy().astype("datetime64[D]")
    if not len(times):
        raise ValueError("hf_case_control: the cohort has no visit.")
    n_months = int((times.max() - times.min()).astype(np.float64) // DAYS_PER_MONTH) + 1
    return times.min() + np.round(DAYS_PER_MONTH * np.arange(n_months + 1)).astype("timedelta64[D]")


@dataclass
class MonthlyRecords:
    """What the design needs from the records, per patient, on a month grid (``grid[m]`` = start of month m)."""

    grid: np.ndarray        # datetime64[D], n_months + 1 month starts
    hf_time: np.ndarray     # datetime64, time of the HFDx (NaT: never)
    hf_month: np.ndarray    # int, month of the HFDx (-1: never)
    visit_keys: np.ndarray  # int, sorted: patient * (n_months + 1) + month of each visit
    birth: np.ndarray       # datetime64[D]
    male: np.ndarray        # bool

    @classmethod
    def build(cls, cohort: EHRCohort, grid: np.ndarray) -> "MonthlyRecords":
        hf_time = hf_diagnosis(cohort)["hf_time"].to_numpy()
        hf_month = np.where(np.isnat(hf_time), -1, month_of(grid, hf_time))
        owner = pd.Series(np.arange(len(cohort.patients)), index=cohort.patients["patient_id"].to_numpy())
        visit_owner = owner.reindex(cohort.visits["patient_id"].to_numpy()).to_numpy()
        keys = visit_owner * len(grid) + month_of(grid, cohort.visits["time"].to_numpy())
        return cls(grid, hf_time, hf_month, np.sort(keys),
                   cohort.patients["birth_date"].to_numpy().astype("datetime64[D]"),
                   cohort.patients["sex"].to_numpy() == "M")

    @property
    def n_months(self) -> int:
        return len(self.grid) - 1

    def age_at_month(self, patients, month) -> np.ndarray:
        """Age in years at the start of ``month``."""
        return (self.grid[month] - self.birth[patients]).astype(np.float64) / DAYS_PER_YEAR

    def visits_in(self, patients, first_month, end_month) -> np.ndarray:
        """Visits in the months ``first_month .. end_month - 1`` (a count per patient)."""
        base = np.asarray(patients) * len(self.grid)
        return np.searchsorted(self.visit_keys, base + end_month) - np.searchsorted(self.visit_keys, base + first_month)


def month_of(grid: np.ndarray, times) -> np.ndarray:
    """Index of the month of the grid each time falls in."""
    days = np.asarray(times).astype("datetime64[D]")
    return np.searchsorted(grid, days, side="right") - 1


def eligible_cases(records: MonthlyRecords, lag: int, min_visits: int, pred_months: int,
                   control_free_months: int, age_range) -> tuple[np.ndarray, np.ndarray]:
    """Cases (patient positions) and their index months: a whole window before the HFDx, room after it for the
    controls' HF-free follow-up, age at the HFDx in ``age_range``, ``min_visits`` visits in the window."""
    last_month = records.n_months - 1 - control_free_months
    cases = np.flatnonzero((records.hf_month >= lag) & (records.hf_month <= last_month))
    month = records.hf_month[cases]
    age_at_dx = (records.hf_time[cases].astype("datetime64[D]") - records.birth[cases]).astype(np.float64) \
        / DAYS_PER_YEAR
    n_visits = records.visits_in(cases, month - lag, month - pred_months)
    keep = (age_at_dx >= age_range[0]) & (age_at_dx <= age_range[1]) & (n_visits >= min_visits)
    return cases[keep], month[keep]


def match_controls(records: MonthlyRecords, cases, case_month, lag: int, pred_months: int, min_visits: int,
                   controls_per_case: int, control_free_months: int, rng) -> dict:
    """Samples of the design, each case followed by its controls: source patient, label, index month, case number."""
    n_patients = len(records.birth)
    source, labels, month, case_number = [cases], [np.ones(len(cases), np.int64)], [case_month], \
        [np.arange(len(cases))]
    first_hf_month = np.where(records.hf_month < 0, records.n_months + 1, records.hf_month)
    everyone = np.arange(n_patients)
    for m in np.unique(case_month):
        eligible = (first_hf_month > m + control_free_months) & \
            (records.visits_in(everyone, m - lag, m - pred_months) >= min_visits)
        band = np.floor(records.age_at_month(everyone, m) / 5)
        for k in np.flatnonzero(case_month == m):
            same = eligible & (records.male == records.male[cases[k]]) & (band == band[cases[k]])
            pool = np.flatnonzero(same)
            chosen = rng.choice(pool, size=min(controls_per_case, len(pool)), replace=False) if len(pool) else pool
            source.append(chosen)
            labels.append(np.zeros(len(chosen), np.int64))
            month.append(np.full(len(chosen), m))
            case_number.append(np.full(len(chosen), k))
    design = {"source": source, "label": labels, "index_month": month, "case_number": case_number}
    design = {key: np.concatenate(parts).astype(np.int64) for key, parts in design.items()}
    order = np.lexsort((design["label"] == 0, design["case_number"]))
    return {key: values[order] for key, values in design.items()}


def window_cohort(cohort: EHRCohort, source, window_start, window_end, name: str) -> EHRCohort:
    """A cohort with one patient per sample (ids 0..n-1) holding only the source patient's visits in its window."""
    table = cohort.visit_table()
    bounds = np.concatenate([[0], np.cumsum(cohort.visit_counts())])
    times = table["time"].to_numpy()
    rows, sample = [], []
    for s, patient in enumerate(source):
        first, end = bounds[patient], bounds[patient + 1]
        lo = first + np.searchsorted(times[first:end], window_start[s], side="left")
        hi = first + np.searchsorted(times[first:end], window_end[s], side="left")
        rows.append(np.arange(lo, hi))
        sample.append(np.full(hi - lo, s))
    rows = np.concatenate(rows or [np.zeros(0)]).astype(np.int64)
    sample = np.concatenate(sample or [np.zeros(0)]).astype(np.int64)
    visits = pd.DataFrame({"patient_id": sample, "visit_id": np.arange(len(rows)), "time": times[rows],
                           "codes": table["codes"].to_numpy()[rows],
                           "source_visit_id": table["visit_id"].to_numpy()[rows]})
    patients = pd.DataFrame({"patient_id": np.arange(len(source)), "sex": cohort.patients["sex"].to_numpy()[source],
                             "birth_date": cohort.patients["birth_date"].to_numpy()[source],
                             "source_patient": cohort.patients["patient_id"].to_numpy()[source]})
    return EHRCohort(patients, visits, name=name)


@dataclass(eq=False)
class HFTask:
    """One row per sample (a case or a matched control); ``cohort`` holds only observation-window visits."""

    cohort: EHRCohort
    labels: np.ndarray
    index_time: np.ndarray
    oracle: np.ndarray          # the exact likelihood ratio (synthetic data), NaN for real records
    age: np.ndarray             # at the index date
    sex: np.ndarray
    split: np.ndarray
    source_patient: np.ndarray  # position of the sample's patient in the source cohort
    index_month: np.ndarray     # on the month grid of the design
    case_id: np.ndarray         # the case each sample belongs to (its matched set)
    obs_months: int
    pred_months: int
    window_end: np.ndarray      # first moment NOT visible to the model, per sample

    def __len__(self) -> int:
        return len(self.labels)

    def part(self, name: str) -> np.ndarray:
        """Sample positions of one split part ("train", "val" or "test")."""
        return np.flatnonzero(self.split == name)

    def summary(self) -> dict:
        return {"samples": len(self), "cases": int(self.labels.sum()), "controls": int((self.labels == 0).sum()),
                "patients": int(len(np.unique(self.source_patient))),
                **{f"{p}_samples": int((self.split == p).sum()) for p in SPLITS}}


def hf_case_control(data, obs_months: int = 18, pred_months: int = 0, controls_per_case: int = 10,
                    min_visits: int = 2, seed: int = 0, control_free_months: int = 6, age_range=(40, 85),
                    split=(0.6, 0.2, 0.2), with_oracle: bool = True) -> HFTask:
    """The HF case-control samples of ``data``, an ``EHRCohort`` or a ``SyntheticEHR`` (see the module docstring).

    ``with_oracle=False`` skips the synthetic oracle (NaN), e.g. to rebuild only the records quickly.
    """
    if obs_months < 1 or pred_months < 0 or controls_per_case < 1 or min_visits < 1:
        raise ValueError("hf_case_control needs obs_months >= 1, pred_months >= 0, controls_per_case >= 1, "
                         f"min_visits >= 1 (got {obs_months}, {pred_months}, {controls_per_case}, {min_visits}).")
    synth = data if isinstance(data, SyntheticEHR) else None
    cohort = data.cohort if synth else data
    grid = synth.month_start(np.arange(synth.months + 1)) if synth else calendar_months(cohort)
    records = MonthlyRecords.build(cohort, grid)
    lag = pred_months + obs_months
    cases, case_month = eligible_cases(records, lag, min_visits, pred_months, control_free_months, age_range)
    design = match_controls(records, cases, case_month, lag, pred_months, min_visits, controls_per_case,
                            control_free_months, np.random.default_rng(seed))
    source, labels, month = design["source"], design["label"], design["index_month"]

    case_time = dict(zip(design["case_number"][labels == 1].tolist(), records.hf_time[source[labels == 1]]))
    index_time = np.array([case_time[c] for c in design["case_number"].tolist()], dtype="datetime64[ns]")
    window_start = grid[month - lag].astype("datetime64[ns]")
    window_end = grid[month - pred_months].astype("datetime64[ns]")
    name = f"HF case-control (obs {obs_months} mo, pred {pred_months} mo)"
    task_cohort = window_cohort(cohort, source, window_start, window_end, name)

    parts = patient_split(source, split, seed)
    split_of_sample = np.array([parts[p] for p in source.tolist()], dtype=object)
    oracle = np.full(len(source), np.nan)
    if synth is not None and with_oracle and len(source):
        oracle = hf_likelihood_ratio(synth, source, month - pred_months - 1, pred_months, control_free_months)
    age = (index_time.astype("datetime64[D]") - records.birth[source]).astype(np.float64) / DAYS_PER_YEAR
    return HFTask(task_cohort, labels, index_time, oracle.astype(np.float64), age,
                  cohort.patients["sex"].to_numpy()[source], split_of_sample, source, month,
                  design["case_number"], obs_months, pred_months, window_end)
