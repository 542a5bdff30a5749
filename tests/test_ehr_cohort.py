"""EHRCohort, ICD-9 grouping, vocabulary and integer sequences: hand-made cohorts and bad input."""
import numpy as np
import pandas as pd
import pytest

from labutils.ehr import EHRCohort, build_vocabulary, group_icd9, icd9_dotted, is_hf_code


def toy(visits=None, patients=None):
    p = patients if patients is not None else pd.DataFrame(
        {"patient_id": [1, 2, 3], "sex": ["M", "F", "M"], "birth_date": ["1950-01-01", "1960-02-02", "1970-03-03"]})
    v = visits if visits is not None else pd.DataFrame({
        "patient_id": [1, 1, 2, 1, 2],
        "visit_id": [10, 11, 12, 13, 14],
        "time": ["2000-03-01", "2000-01-01", "2001-01-01", "2000-03-01 12:00", "2001-02-01"],
        "codes": [["D_428.0", "RX_LOOP", "D_428.1"], ["D_401.9"], None, ["D_E880.1", None, "D_4280", "D_999.9"],
                  ["D_401.1", "", "D_401.9"]]})
    return EHRCohort(p, v)


def test_group_icd9_contract_examples():
    assert group_icd9("D_428.0") == "D_428"
    assert group_icd9("D_E880.1") == "D_E880"
    assert group_icd9("D_V10.3") == "D_V10"
    assert group_icd9("D_4280") == "D_428"
    assert group_icd9("D_E8801") == "D_E880"
    assert group_icd9("RX_LOOP") == "RX_LOOP" and group_icd9("PX_93000") == "PX_93000"
    assert icd9_dotted("4280") == "428.0" and icd9_dotted("E8801") == "E880.1" and icd9_dotted("V103") == "V10.3"
    assert icd9_dotted("412") == "412"


def test_hf_codes_need_the_full_code():
    assert is_hf_code("D_428.0") and is_hf_code("D_428.22") and is_hf_code("D_402.91") and is_hf_code("4280")
    assert not is_hf_code("D_402.90") and not is_hf_code("D_402.10") and not is_hf_code("D_428")
    assert not is_hf_code("RX_428") and not is_hf_code("D_401.9")


def test_sequences_order_duplicates_unknown_and_empty_visits():
    c = toy()
    vocab = build_vocabulary(c)  # D_ codes only, grouped
    # D_428 in 2 visits, D_401 in 2 visits, D_E880 and D_999 in 1: frequency then name
    assert vocab.codes == ["D_401", "D_428", "D_999", "D_E880"]
    assert vocab.index("D_428.1") == 1 and vocab.map("D_428.1") == "D_428"
    with pytest.raises(KeyError):
        vocab.index("D_123.4")
    with pytest.raises(KeyError):
        vocab.index("RX_LOOP")
    seqs = c.sequences(vocab)
    # patient 1: visits sorted by time (11, 10, 13); duplicates of D_428 dropped; RX_LOOP not in vocab
    assert seqs[0] == [[0], [1], [3, 1, 2]]
    assert seqs[1] == [[], [0]]  # the null-codes visit is kept, empty; "" dropped, 401.1/401.9 -> one code
    assert seqs[2] == []  # a patient with no visit
    assert c.gap_days() == [[0.0, 60.0, 0.5], [0.0, 31.0], []]
    assert list(c.visit_counts()) == [3, 2, 0]
    small = build_vocabulary(c, min_count=2)
    assert small.codes == ["D_401", "D_428"]
    full = build_vocabulary(c, grouped=False, prefixes=None)
    assert "RX_LOOP" in full.codes and "D_428.0" in full.codes and full.index("D_428.0") != full.index("D_428.1")


def test_subset_and_drop_short():
    c = toy()
    assert list(c.drop_short(2).patients["patient_id"]) == [1, 2]
    assert list(c.drop_short(3).patients["patient_id"]) == [1]
    sub = c.subset([2, 1])
    assert list(sub.patients["patient_id"]) == [2, 1]
    assert len(sub.sequences(build_vocabulary(c))) == 2
    with pytest.raises(ValueError, match="drop_short"):
        c.require_min_visits(2)


TIMES = ["2000-03-01", "2000-01-01", "2001-01-01", "2000-03-01", "2001-02-01"]


@pytest.mark.parametrize("change, match", [
    (lambda p, v: (p, v.drop(columns="time")), "missing column"),
    (lambda p, v: (p.drop(columns="sex"), v), "missing column"),
    (lambda p, v: (p, v.assign(time=TIMES[:1] + ["yesterday"] + TIMES[2:])), "unparseable"),
    (lambda p, v: (p, v.assign(time=[None] + TIMES[1:])), "missing value"),
    (lambda p, v: (p.assign(birth_date=["1950-01-01", "soon", "1970-03-03"]), v), "unparseable"),
    (lambda p, v: (p, v.assign(patient_id=[1, None, 2, 1, 2])), "null"),
    (lambda p, v: (p, v.assign(visit_id=[10, 10, 12, 13, 14])), "visit_id"),
    (lambda p, v: (p, v.assign(patient_id=[1, 1, 2, 1, 99])), "missing from"),
    (lambda p, v: (p, v.assign(codes=["D_401.9"] * 5)), "lists of strings"),
    (lambda p, v: (pd.concat([p, p.iloc[:1]]), v), "twice"),
])
def test_bad_input_is_one_clear_error(change, match):
    c = toy()
    p, v = change(c.patients.copy(), c.visits.copy())
    with pytest.raises(ValueError, match=match):
        EHRCohort(p, v)
