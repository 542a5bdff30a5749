"""Writers and readers for the file formats of the papers' code, so a cohort can go in and out of them.

- MIMIC-III-shaped CSVs (``to_mimic3_csv``; read back with ``loaders.load_mimic3``): PATIENTS, ADMISSIONS,
  DIAGNOSES_ICD (undotted codes), PROCEDURES_ICD, CPTEVENTS, PRESCRIPTIONS.
- The Doctor AI pickles (``to_doctorai`` / ``read_doctorai``): ``prefix.pids`` (patient ids), ``prefix.dates``
  (visit datetimes), ``prefix.seqs`` (full-code integer sequences), ``prefix.types`` (code → int in order of first
  occurrence); plus the model's inputs split by patient: ``prefix.{visits,labels,times}.{train,valid,test}``,
  with labels the 3-digit diagnosis groups of the same visits (Doctor AI shifts them itself) and times the
  days since the previous visit (0 first).
- The DL4H pickles (``to_dl4h`` / ``read_dl4h``): ``pids.pkl``, ``vids.pkl``, ``hfs.pkl`` (one 0/1 label per
  patient), ``seqs.pkl``, ``types.pkl`` (code → int) and ``rtypes.pkl`` (int → code). This format stores no
  dates: ``read_dl4h`` gives visits placeholder times one day apart, in their stored order.

Pickles are read with ``pickle``: only open files you trust.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from .codes import group_icd9
from .cohort import EHRCohort

__all__ = ["to_mimic3_csv", "to_doctorai", "read_doctorai", "to_dl4h", "read_dl4h"]

_PLACEHOLDER_START = pd.Timestamp("2000-01-01")


def _dump(obj, path: Path) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def _load(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"{path} not found. Fix: check the prefix/folder (written by to_doctorai/to_dl4h?).")
    with open(path, "rb") as f:
        return pickle.load(f)


def _rows(cohort: EHRCohort, prefix: str) -> pd.DataFrame:
    """One row per (visit, code) with the given prefix, codes without the prefix, in visit order."""
    v = cohort.visit_table()
    long = v[["patient_id", "visit_id", "time", "codes"]].explode("codes").dropna(subset=["codes"])
    long = long[long["codes"].str.startswith(prefix)]
    long = long.assign(code=long["codes"].str[len(prefix):], seq_num=long.groupby("visit_id").cumcount() + 1)
    return long.drop(columns="codes")


def to_mimic3_csv(cohort: EHRCohort, directory, gz: bool = False) -> Path:
    """Write ``cohort`` as MIMIC-III-shaped tables (upper-case headers as in the full release)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ext = ".csv.gz" if gz else ".csv"
    p, v = cohort.patients, cohort.visit_table()
    pd.DataFrame({"SUBJECT_ID": p["patient_id"], "GENDER": p["sex"], "DOB": p["birth_date"]}).to_csv(
        out / f"PATIENTS{ext}", index=False)
    pd.DataFrame({"SUBJECT_ID": v["patient_id"], "HADM_ID": v["visit_id"], "ADMITTIME": v["time"],
                  "DISCHTIME": v["time"]}).to_csv(out / f"ADMISSIONS{ext}", index=False)
    tables = {"DIAGNOSES_ICD": ("D_", "ICD9_CODE", lambda c: c.str.replace(".", "", regex=False)),
              "PROCEDURES_ICD": ("P_", "ICD9_CODE", None), "CPTEVENTS": ("PX_", "CPT_CD", None),
              "PRESCRIPTIONS": ("RX_", "DRUG", None)}
    for table, (prefix, column, transform) in tables.items():
        rows = _rows(cohort, prefix)
        codes = transform(rows["code"]) if transform else rows["code"]
        frame = {"SUBJECT_ID": rows["patient_id"], "HADM_ID": rows["visit_id"]}
        if table == "PRESCRIPTIONS":
            frame["STARTDATE"] = rows["time"].dt.strftime("%Y-%m-%d")
        frame["TICKET_ID_SEQ" if table == "CPTEVENTS" else "SEQ_NUM"] = rows["seq_num"]
        frame[column] = codes
        pd.DataFrame(frame).to_csv(out / f"{table}{ext}", index=False)
    return out


def _split_patients(n: int, split, seed: int) -> dict[str, np.ndarray]:
    if len(split) != 3 or abs(sum(split) - 1) > 1e-9:
        raise ValueError(f"split must be three fractions (train, valid, test) summing to 1, got {split}.")
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_valid = int(round(split[0] * n)), int(round(split[1] * n))
    return {"train": order[:n_train], "valid": order[n_train:n_train + n_valid], "test": order[n_train + n_valid:]}


def to_doctorai(cohort: EHRCohort, prefix, split=(0.75, 0.10, 0.15), seed: int = 0) -> dict:
    """Write the Doctor AI pickles (see the module docstring). Returns the code → int dicts written."""
    prefix = str(prefix)
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    codes = cohort.codes()
    types: dict[str, int] = {}
    seqs = [[[types.setdefault(c, len(types)) for c in dict.fromkeys(visit)] for visit in patient] for patient in codes]
    groups: dict[str, int] = {}
    labels = [[[groups.setdefault(g, len(groups)) for g in dict.fromkeys(group_icd9(c) for c in visit
                                                                              if c.startswith("D_"))]
               for visit in patient] for patient in codes]
    dates = [[pd.Timestamp(t).to_pydatetime() for t in times] for times in cohort.times()]
    times = cohort.gap_days()
    _dump(cohort.patients["patient_id"].tolist(), Path(f"{prefix}.pids"))
    _dump(dates, Path(f"{prefix}.dates"))
    _dump(seqs, Path(f"{prefix}.seqs"))
    _dump(types, Path(f"{prefix}.types"))
    _dump(groups, Path(f"{prefix}.3digit.types"))
    for part, idx in _split_patients(len(seqs), split, seed).items():
        for name, data in (("visits", seqs), ("labels", labels), ("times", times)):
            _dump([data[i] for i in idx], Path(f"{prefix}.{name}.{part}"))
    return {"types": types, "label_types": groups}


def _cohort_from_lists(pids, seqs, types: dict, dates=None, name="") -> EHRCohort:
    if len(pids) != len(seqs) or (dates is not None and len(dates) != len(seqs)):
        raise ValueError(f"inconsistent files: {len(pids)} patient ids, {len(seqs)} sequences"
                         + (f", {len(dates)} date lists" if dates is not None else "") + ".")
    names = {i: c for c, i in types.items()}
    rows = []
    for p, (pid, patient) in enumerate(zip(pids, seqs)):
        for v, visit in enumerate(patient):
            try:
                visit_codes = [names[i] for i in visit]
            except KeyError as exc:
                raise ValueError(f"patient {pid!r}, visit {v}: code index {exc.args[0]} is not in the types "
                                 "dictionary. Fix: use the .types file written with these sequences.") from None
            time = dates[p][v] if dates is not None else _PLACEHOLDER_START + pd.Timedelta(days=v)
            rows.append((pid, f"{pid}-{v}", pd.Timestamp(time), visit_codes))
    visits = pd.DataFrame(rows, columns=["patient_id", "visit_id", "time", "codes"])
    patients = pd.DataFrame({"patient_id": list(pids), "sex": "U", "birth_date": pd.NaT})
    return EHRCohort(patients, visits, name)


def read_doctorai(prefix) -> EHRCohort:
    """Read ``prefix.pids/.dates/.seqs/.types`` back into an ``EHRCohort`` (sex and birth date unknown)."""
    prefix = str(prefix)
    return _cohort_from_lists(_load(Path(f"{prefix}.pids")), _load(Path(f"{prefix}.seqs")),
                              _load(Path(f"{prefix}.types")), _load(Path(f"{prefix}.dates")), name=Path(prefix).name)


def to_dl4h(cohort: EHRCohort, directory, labels) -> Path:
    """Write the DL4H pickles; ``labels`` is one 0/1 per patient (order of ``cohort.patients``)."""
    labels = [int(x) for x in labels]
    if len(labels) != len(cohort):
        raise ValueError(f"labels has {len(labels)} entries for {len(cohort)} patients.")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    types: dict[str, int] = {}
    seqs = [[[types.setdefault(c, len(types)) for c in dict.fromkeys(visit)] for visit in patient]
            for patient in cohort.codes()]
    v = cohort.visit_table()
    starts = np.concatenate([[0], np.cumsum(cohort.visit_counts())])
    vids = [v["visit_id"].iloc[a:b].tolist() for a, b in zip(starts[:-1], starts[1:])]
    for name, obj in (("pids", cohort.patients["patient_id"].tolist()), ("vids", vids), ("hfs", labels),
                      ("seqs", seqs), ("types", types), ("rtypes", {i: c for c, i in types.items()})):
        _dump(obj, out / f"{name}.pkl")
    return out


def read_dl4h(directory) -> tuple[EHRCohort, np.ndarray]:
    """Read the DL4H pickles: (cohort with placeholder visit times, labels int64 per patient)."""
    d = Path(directory)
    pids, seqs, hfs = _load(d / "pids.pkl"), _load(d / "seqs.pkl"), _load(d / "hfs.pkl")
    rtypes_path = d / "rtypes.pkl"
    types = ({c: i for i, c in _load(rtypes_path).items()} if rtypes_path.exists() else _load(d / "types.pkl"))
    if len(hfs) != len(pids):
        raise ValueError(f"{d / 'hfs.pkl'}: {len(hfs)} labels for {len(pids)} patients.")
    return _cohort_from_lists(pids, seqs, types, name=d.name), np.asarray(hfs, dtype=np.int64)
