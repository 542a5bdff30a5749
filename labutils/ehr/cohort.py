"""One in-memory representation of EHR data, shared by the synthetic generator and the real-data loaders.

An ``EHRCohort`` is two tables:

- ``patients``: one row per patient: ``patient_id``, ``sex`` ('M'/'F'), ``birth_date`` (datetime64);
- ``visits``: one row per visit: ``patient_id``, ``visit_id``, ``time`` (datetime64) and ``codes``, a list of
  strings ``D_<dotted ICD-9>`` (diagnoses), ``P_<code>``/``PX_<code>`` (procedures), ``RX_<name>`` (drugs).

Models see integers: ``EHRCohort.sequences(vocab)`` turns every patient into ``list[visit] -> list[int]`` with a
``Vocabulary`` (module ``codes``). ``patient_split`` assigns patients to train/val/test.

Documented handling of imperfect input (everything else raises one ``ValueError`` naming the problem):

- missing columns, null ids, unparseable times, visits of unknown patients, a ``visit_id`` used twice -> ValueError;
- time columns given as strings are parsed (ISO dates or anything ``pandas.to_datetime`` reads);
- a visit whose ``codes`` is null/NaN becomes an empty visit; null or empty entries inside a list are dropped;
- duplicate codes within a visit are dropped by ``sequences`` (first occurrence kept);
- empty visits are kept (they are real encounters); patients with no visit get an empty sequence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pandas as pd

from .codes import Vocabulary

PATIENT_COLUMNS = ("patient_id", "sex", "birth_date")
VISIT_COLUMNS = ("patient_id", "visit_id", "time", "codes")
SPLITS = ("train", "val", "test")

def _clean_codes(value) -> list[str]:
    """A visit's ``codes`` cell -> list of non-empty strings (None/NaN -> [])."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        raise ValueError(f"EHRCohort.visits['codes'] must hold lists of strings, got the string {value!r}. "
                         "Fix: wrap it, e.g. codes=[['D_428.0', 'RX_LOOP']], or split it into a list.")
    out = []
    for c in value:
        if c is None or (isinstance(c, float) and np.isnan(c)):
            continue
        c = str(c).strip()
        if c:
            out.append(c)
    return out


def _clean_lists(column) -> bool:
    """True when every cell is a list of non-empty strings (the fast path: nothing to normalise)."""
    if set(map(type, column)) != {list}:
        return False
    flat = list(chain.from_iterable(column))
    return set(map(type, flat)) <= {str} and (not flat or min(map(len, flat)) > 0)


def _parse_times(series: pd.Series, table: str, column: str) -> pd.Series:
    """datetime64 version of ``series``; ValueError naming the first bad value."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    parsed = pd.to_datetime(series, errors="coerce", format="ISO8601")
    bad = parsed.isna() & series.notna()
    if bad.any():  # not all ISO: let pandas guess each value's format
        parsed = pd.to_datetime(series, errors="coerce", format="mixed")
        bad = parsed.isna() & series.notna()
    if bad.any():
        first = series[bad].iloc[0]
        raise ValueError(f"{table}['{column}'] has {int(bad.sum())} unparseable value(s), e.g. {first!r}. "
                         "Fix: use ISO dates such as '2101-10-20' or '2101-10-20 19:08:00'.")
    return parsed


@dataclass(eq=False)
class EHRCohort:
    """Patients and their visits (see the module docstring for columns and the handling of bad input)."""

    patients: pd.DataFrame
    visits: pd.DataFrame
    name: str = ""
    _order: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.validate()

    # ----------------------------------------------------------------------------------- checking
    def validate(self) -> "EHRCohort":
        """Check columns, ids and times; parse string times; normalise ``codes``. Raises ValueError."""
        for table, cols, df in (("patients", PATIENT_COLUMNS, self.patients), ("visits", VISIT_COLUMNS, self.visits)):
            if not isinstance(df, pd.DataFrame):
                raise ValueError(f"EHRCohort.{table} must be a pandas DataFrame, got {type(df).__name__}.")
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise ValueError(f"EHRCohort.{table} is missing column(s) {missing}; it has {list(df.columns)}. "
                                 f"Fix: rename/add them (required: {list(cols)}).")
        p, v = self.patients, self.visits
        for table, df, col in (("patients", p, "patient_id"), ("visits", v, "patient_id"), ("visits", v, "visit_id")):
            n_null = int(df[col].isna().sum())
            if n_null:
                raise ValueError(f"EHRCohort.{table}['{col}'] has {n_null} null value(s). Fix: drop those rows.")
        if p["patient_id"].duplicated().any():
            dup = p["patient_id"][p["patient_id"].duplicated()].iloc[0]
            raise ValueError(f"EHRCohort.patients lists patient_id {dup!r} twice. Fix: one row per patient.")
        if v["visit_id"].duplicated().any():
            dup = v["visit_id"][v["visit_id"].duplicated()].iloc[0]
            raise ValueError(f"EHRCohort.visits uses visit_id {dup!r} on more than one row. "
                             "Fix: one row per visit (merge the codes of duplicate rows first).")
        if v["time"].isna().any():
            raise ValueError(f"EHRCohort.visits['time'] has {int(v['time'].isna().sum())} missing value(s). "
                             "Fix: drop those visits or fill in their date.")
        v["time"] = _parse_times(v["time"], "EHRCohort.visits", "time")
        p["birth_date"] = _parse_times(p["birth_date"], "EHRCohort.patients", "birth_date")
        unknown = ~v["patient_id"].isin(p["patient_id"])
        if unknown.any():
            raise ValueError(f"EHRCohort.visits has {int(unknown.sum())} visit(s) of patients missing from "
                             f".patients, e.g. patient_id {v['patient_id'][unknown].iloc[0]!r}. "
                             "Fix: add those patients or drop their visits.")
        if len(v) and not _clean_lists(v["codes"]):
            v["codes"] = [_clean_codes(c) for c in v["codes"]]
        self._order = None
        return self

    # ------------------------------------------------------------------------------- conversion
    def __len__(self) -> int:
        return len(self.patients)

    def _visit_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(row positions of visits sorted by patient order then time, start offset of each patient)."""
        if self._order is None:
            pos = pd.Series(np.arange(len(self.patients)), index=self.patients["patient_id"].to_numpy())
            owner = pos.reindex(self.visits["patient_id"].to_numpy()).to_numpy()
            times = self.visits["time"].to_numpy()
            rows = np.lexsort((np.arange(len(times)), times, owner))  # stable: ties keep table order
            counts = np.bincount(owner, minlength=len(self.patients))
            starts = np.concatenate([[0], np.cumsum(counts)])
            self._order = {"rows": rows, "starts": starts}
        return self._order["rows"], self._order["starts"]

    def visit_counts(self) -> np.ndarray:
        """Number of visits of each patient (order of ``.patients``)."""
        return np.diff(self._visit_order()[1])

    def visit_table(self) -> pd.DataFrame:
        """``.visits`` sorted by patient (order of ``.patients``) then time."""
        return self.visits.iloc[self._visit_order()[0]].reset_index(drop=True)

    def codes(self) -> list[list[list[str]]]:
        """Raw code strings per patient -> visit (sorted by time), as stored."""
        rows, starts = self._visit_order()
        col = self.visits["codes"].to_numpy()[rows]
        return [list(col[a:b]) for a, b in zip(starts[:-1], starts[1:])]

    def sequences(self, vocab: "Vocabulary") -> list[list[list[int]]]:
        """Integer sequences: patient -> visit (by time) -> code indices of ``vocab`` (after its grouping).

        Unknown codes are dropped, duplicates within a visit dropped (first kept), empty visits kept.
        """
        lookup = vocab.lookup_table()
        rows, starts = self._visit_order()
        col = self.visits["codes"].to_numpy()[rows]
        seqs = []
        for a, b in zip(starts[:-1], starts[1:]):
            patient = []
            for codes in col[a:b]:
                idx = [lookup[c] for c in codes if c in lookup]
                patient.append(list(dict.fromkeys(idx)) if len(idx) > 1 else idx)
            seqs.append(patient)
        return seqs

    def gap_days(self) -> list[list[float]]:
        """Days since the previous visit (fractional when times carry hours), 0 for each patient's first visit."""
        rows, starts = self._visit_order()
        t = self.visits["time"].to_numpy()[rows].astype("datetime64[s]").astype(np.float64) / 86400.0
        gaps = np.diff(t, prepend=t[:1] if len(t) else t)
        gaps[starts[:-1][np.diff(starts) > 0]] = 0.0
        return [gaps[a:b].tolist() for a, b in zip(starts[:-1], starts[1:])]

    def times(self) -> list[np.ndarray]:
        """Visit times (datetime64) per patient, sorted."""
        rows, starts = self._visit_order()
        t = self.visits["time"].to_numpy()[rows]
        return [t[a:b] for a, b in zip(starts[:-1], starts[1:])]

    # --------------------------------------------------------------------------------- editing
    def subset(self, patient_ids, name: str | None = None) -> "EHRCohort":
        """A new cohort with only these patients (in the given order) and their visits."""
        ids = pd.Index(patient_ids)
        p = self.patients.set_index("patient_id", drop=False).loc[ids].reset_index(drop=True)
        v = self.visits[self.visits["patient_id"].isin(ids)].reset_index(drop=True)
        return EHRCohort(p, v.copy(), self.name if name is None else name)

    def drop_short(self, min_visits: int = 2) -> "EHRCohort":
        """Patients with at least ``min_visits`` visits (Doctor AI needs 2: one input, one target)."""
        keep = self.patients["patient_id"].to_numpy()[self.visit_counts() >= min_visits]
        return self.subset(keep)

    def require_min_visits(self, min_visits: int = 2) -> None:
        """Raise ValueError if any patient has fewer than ``min_visits`` visits (use ``drop_short`` to filter)."""
        counts = self.visit_counts()
        short = counts < min_visits
        if short.any():
            pid = self.patients["patient_id"].iloc[int(np.argmax(short))]
            raise ValueError(f"{int(short.sum())} patient(s) have fewer than {min_visits} visits "
                             f"(e.g. patient_id {pid!r} has {int(counts[short][0])}). "
                             f"Fix: cohort = cohort.drop_short({min_visits}).")

    def summary(self) -> dict:
        """Headline numbers: patients, visits, codes per visit, mean gap (days)."""
        n_codes = self.visits["codes"].map(len).to_numpy()
        gaps = [g for p in self.gap_days() for g in p[1:]]
        return {"patients": len(self.patients), "visits": len(self.visits),
                "visits_per_patient": len(self.visits) / max(len(self.patients), 1),
                "codes_per_visit": float(n_codes.mean()) if len(n_codes) else 0.0,
                "mean_gap_days": float(np.mean(gaps)) if gaps else float("nan")}


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
