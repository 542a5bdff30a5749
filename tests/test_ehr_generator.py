"""The synthetic EHR generator: determinism, calibration to the papers' scale, latent truth, switches."""
import numpy as np
import pytest

from labutils.ehr import build_vocabulary, generate_cohort, group_icd9, is_hf_code
from labutils.ehr.generator import MI_RECENT, STAGE_B, STAGE_HF, codebook, default_params


@pytest.fixture(scope="module")
def synth():
    return generate_cohort(3000, seed=11)


def test_deterministic_by_seed():
    a, b, c = generate_cohort(300, seed=4), generate_cohort(300, seed=4), generate_cohort(300, seed=5)
    assert a.cohort.visits["codes"].tolist() == b.cohort.visits["codes"].tolist()
    assert (a.cohort.visits["time"] == b.cohort.visits["time"]).all()
    for key in ("chronic", "mi", "stage", "episode", "visit", "acute_propensity"):
        np.testing.assert_array_equal(a.truth[key], b.truth[key])
    assert a.cohort.visits["codes"].tolist() != c.cohort.visits["codes"].tolist()


def test_calibrated_to_the_papers_scale(synth):
    s = synth.summary()
    # tolerances: the calibration targets of docs/ehr-data.md; prevalences within about 3 standard errors (3,000 patients) of the
    # values measured on 20,000 (benchmarks/bench_ehr.py)
    assert 3.0 <= s["codes_per_visit"] <= 4.0, s          # Choi et al. 2016: 3.22 codes per visit
    assert 60 <= s["mean_gap_days"] <= 100, s             # Doctor AI: 76 days
    assert 250 <= s["dx_groups"] <= 400, s                # 3-digit diagnosis groups
    assert 0.08 <= s["hf_incidence_5y"] <= 0.12, s        # five-year HF incidence
    for name, lo, hi in (("HTN_0", .35, .45), ("HTN_5y", .50, .60), ("DM_0", .12, .19), ("CAD_5y", .22, .31),
                         ("AF_5y", .08, .14), ("CKD_5y", .14, .21)):
        assert lo <= s[name] <= hi, (name, s[name])


def test_latent_truth_is_consistent(synth):
    t, onset = synth.truth, synth.hf_onset_month
    assert np.all(np.diff(t["chronic"], axis=1) >= 0), "chronic conditions are absorbing"
    assert np.all(np.diff(t["stage"], axis=1) >= 0), "stage only moves A -> B -> HF"
    assert not np.any((t["stage"] == STAGE_HF) & (t["episode"] == 1)), "no congestion episode once in HF"
    assert np.all(t["stage"][:, 0] < STAGE_HF)
    has = onset >= 0
    first_hf = np.where((t["stage"] == STAGE_HF).any(1), np.argmax(t["stage"] == STAGE_HF, axis=1), -1)
    np.testing.assert_array_equal(first_hf, onset)
    assert t["visit"][np.flatnonzero(has), onset[has]].all(), "the HF onset month always has a visit"
    v = synth.cohort.visits
    assert t["visit"].sum() == len(v)
    assert t["visit"][v["patient_id"].to_numpy(), v["month"].to_numpy()].all()


def test_codes_are_full_dotted_icd9_and_hf_codes_follow_the_truth(synth):
    v = synth.cohort.visits
    dx = {c for codes in v["codes"] for c in codes if c.startswith("D_")}
    three_digit_only = {c for c in dx if "." not in c}
    assert three_digit_only <= {"D_412", "D_486", "D_496", "D_311"}, three_digit_only
    assert all(c.startswith(("D_", "RX_", "PX_")) for codes in v["codes"] for c in codes)
    # HF codes (full-code rule) appear exactly from the onset month on, and at the onset visit
    hf_codes = {c for c in dx if is_hf_code(c)}
    hf_visit = np.array([not hf_codes.isdisjoint(codes) for codes in v["codes"]])
    month, pid = v["month"].to_numpy(), v["patient_id"].to_numpy()
    onset = synth.hf_onset_month[pid]
    assert not hf_visit[(onset < 0) | (month < onset)].any(), "a qualifying HF code before the HF onset"
    assert hf_visit[month == onset].all(), "the diagnosis visit lacks an HF code"
    # 402.9x: HF only in the HF state, the non-HF sub-codes before it (grouping would mix them)
    d402 = [(p, m, c) for p, m, codes in zip(pid, month, v["codes"]) for c in codes if c.startswith("D_402")]
    stage = synth.truth["stage"]
    assert any(c == "D_402.91" for _, _, c in d402) and any(c != "D_402.91" for _, _, c in d402)
    assert all((c == "D_402.91") == (stage[p, m] == STAGE_HF) for p, m, c in d402)
    # sub-codes are noise given the group: every full code maps to a group of the code book
    book = codebook(synth.params)
    assert {group_icd9(c) for c in dx} <= set(book.names)


def test_episodes_and_recent_mi_raise_symptom_codes(synth):
    """Order effects exist: the transient states show up in the codes of their month."""
    v = synth.cohort.visits
    pid, month = v["patient_id"].to_numpy(), v["month"].to_numpy()
    st = synth.state_at(pid, month)
    has_786 = np.array([any(c.startswith("D_786") for c in codes) for codes in v["codes"]])
    stage_a = st["stage"] == 0
    assert has_786[stage_a & (st["episode"] == 1)].mean() > has_786[stage_a & (st["episode"] == 0)].mean() + 0.3
    has_410 = np.array([any(c.startswith("D_410") for c in codes) for codes in v["codes"]])
    assert has_410[st["mi"] == MI_RECENT].mean() > 0.7 and has_410[st["mi"] != MI_RECENT].mean() < 0.01


def test_order_effects_off_switches_the_transient_mechanisms():
    on, off = default_params(True), default_params(False)
    assert off["hazards"]["HF"]["E"] == 0 and off["hazards"]["HF"]["MIr"] == off["hazards"]["HF"]["MIo"]
    assert off["visit"]["E"] == 0 and all("E" not in spec["parents"] for spec in off["core"].values())
    symptoms = {"D_786", "D_782", "D_780"}
    assert any(symptoms & set(r["co"]) for r in on["acute"]["reasons"])
    assert not any(symptoms & set(r["co"]) for r in off["acute"]["reasons"])
    s = generate_cohort(3000, seed=2, order_effects=False)
    v = s.cohort.visits
    st = s.state_at(v["patient_id"].to_numpy(), v["month"].to_numpy())
    has_786 = np.array([any(c.startswith("D_786") for c in codes) for codes in v["codes"]])
    a = st["stage"] == 0
    # an episode is now invisible: same symptom rate with and without (within sampling error)
    p1, p0 = has_786[a & (st["episode"] == 1)].mean(), has_786[a & (st["episode"] == 0)].mean()
    assert abs(p1 - p0) < 0.03, (p1, p0)
    assert 0.08 <= s.summary()["hf_incidence_5y"] <= 0.13  # the HF intercept was re-calibrated


def test_hospital_b_shifts_coding_with_the_same_code_names(synth):
    b = generate_cohort(3000, seed=11, hospital="B")
    sa, sb = synth.summary(), b.summary()
    assert sb["visits_per_patient"] > sa["visits_per_patient"] * 1.1
    va, vb = build_vocabulary(synth.cohort), build_vocabulary(b.cohort)
    assert set(vb.codes) <= set(codebook(synth.params).names)
    rate = {name: np.mean(["D_401.9" in codes for codes in s.cohort.visits["codes"]])
            for name, s in (("A", synth), ("B", b))}
    assert rate["B"] < rate["A"]  # hypertension coded less often (p x 0.7)
    assert abs(sb["hf_incidence_5y"] - sa["hf_incidence_5y"]) < 0.03  # same diseases
    assert len(set(va.codes) & set(vb.codes)) > 0.9 * len(va)
    with pytest.raises(ValueError, match="hospital"):
        generate_cohort(10, hospital="C")
