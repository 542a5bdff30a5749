"""The synthetic EHR generator: determinism, calibration, a consistent latent truth, and every mechanism visible in
the codes (episodes with a course, progression, care pathways), switched off by ``order_effects=False``."""
import numpy as np
import pytest

from labutils.ehr import build_vocabulary, generate_cohort, group_icd9, is_hf_code
from labutils.ehr.codebook import codebook
from labutils.ehr.generator import ACQUIRED_NAMES, NEVER, episode_status
from labutils.ehr.parameters import CHRONIC, MI_RECENT, STAGE_HF, SYMPTOM_CODES, default_params


@pytest.fixture(scope="module")
def synth():
    return generate_cohort(3000, seed=11)


@pytest.fixture(scope="module")
def flat():
    return generate_cohort(3000, seed=11, order_effects=False)


def coded(synth, prefix):
    """Per visit of the cohort: True when a code of the group ``prefix`` (e.g. 'D_362') was coded."""
    return np.array([any(group_icd9(c) == prefix for c in codes) for codes in synth.cohort.visits["codes"]])


def visit_rows(synth):
    v = synth.cohort.visits
    return v["patient_id"].to_numpy(), v["month"].to_numpy()


def test_deterministic_by_seed():
    a, b, c = generate_cohort(300, seed=4), generate_cohort(300, seed=4), generate_cohort(300, seed=5)
    assert a.cohort.visits["codes"].tolist() == b.cohort.visits["codes"].tolist()
    assert (a.cohort.visits["time"] == b.cohort.visits["time"]).all()
    for key in ("chronic", "mi", "stage", "congestion", "visit", "episode_hazard", "acquired_onset", "dm_escalation"):
        np.testing.assert_array_equal(a.truth[key], b.truth[key])
    for key in ("patient", "kind", "start", "end"):
        np.testing.assert_array_equal(a.truth["episodes"][key], b.truth["episodes"][key])
    assert a.cohort.visits["codes"].tolist() != c.cohort.visits["codes"].tolist()


def test_calibrated_to_the_papers_scale(synth):
    s = synth.summary()
    # the targets of docs/ehr-generator.md; prevalences within about 3 standard errors at 3,000 patients
    assert 3.0 <= s["codes_per_visit"] <= 4.2, s          # Choi et al. 2016: 3.22 codes per visit
    assert 50 <= s["mean_gap_days"] <= 90, s              # Doctor AI: 76 days
    assert 450 <= s["dx_groups"] <= 700, s                # several hundred 3-digit groups, a long tail
    assert 0.09 <= s["hf_incidence_5y"] <= 0.13, s        # five-year HF incidence 10-12 %
    for name, lo, hi in (("HTN_0", .35, .45), ("HTN_5y", .50, .60), ("DM_0", .12, .19), ("CAD_5y", .22, .31),
                         ("AF_5y", .08, .14), ("CKD_5y", .14, .21)):
        assert lo <= s[name] <= hi, (name, s[name])


def test_latent_truth_is_consistent(synth):
    t, onset = synth.truth, synth.hf_onset_month
    assert np.all(np.diff(t["chronic"], axis=1) >= 0), "chronic conditions are absorbing"
    assert np.all(np.diff(t["stage"], axis=1) >= 0), "stage only moves A -> B -> HF"
    assert not np.any((t["stage"] == STAGE_HF) & (t["congestion"] == 1)), "no congestion state once in HF"
    has = onset >= 0
    first_hf = np.where((t["stage"] == STAGE_HF).any(1), np.argmax(t["stage"] == STAGE_HF, axis=1), -1)
    np.testing.assert_array_equal(first_hf, onset)
    assert t["visit"][np.flatnonzero(has), onset[has]].all(), "the HF onset month always has a visit"
    v = synth.cohort.visits
    assert t["visit"].sum() == len(v)
    # chronic onset months agree with the monthly states (negative: present before follow-up began)
    first = np.where(t["chronic"][:, -1], np.argmax(t["chronic"], axis=1), NEVER)
    np.testing.assert_array_equal(np.maximum(t["chronic_onset"], 0), np.where(first == 0, 0, first))
    # episodes: sorted by patient, then start; one kind never overlaps itself and leaves a follow-up month
    ep = t["episodes"]
    assert np.all(ep["start"] <= ep["end"]) and np.all(np.diff(ep["patient"]) >= 0)
    key = np.lexsort((ep["start"], ep["kind"], ep["patient"]))
    same = (np.diff(ep["patient"][key]) == 0) & (np.diff(ep["kind"][key]) == 0)
    assert np.all(ep["start"][key][1:][same] >= ep["end"][key][:-1][same] + 2)


def test_codes_are_full_dotted_icd9_and_hf_codes_follow_the_truth(synth):
    v = synth.cohort.visits
    dx = {c for codes in v["codes"] for c in codes if c.startswith("D_")}
    three_digit_only = {c for c in dx if "." not in c}
    assert three_digit_only <= {"D_412", "D_486", "D_496", "D_311"}, three_digit_only
    assert all(c.startswith(("D_", "RX_", "PX_")) for codes in v["codes"] for c in codes)
    hf_codes = {c for c in dx if is_hf_code(c)}
    hf_visit = np.array([not hf_codes.isdisjoint(codes) for codes in v["codes"]])
    pid, month = visit_rows(synth)
    onset = synth.hf_onset_month[pid]
    assert not hf_visit[(onset < 0) | (month < onset)].any(), "a qualifying HF code before the HF onset"
    assert hf_visit[month == onset].all(), "the diagnosis visit lacks an HF code"
    d402 = [(p, m, c) for p, m, codes in zip(pid, month, v["codes"]) for c in codes if c.startswith("D_402")]
    stage = synth.truth["stage"]
    assert any(c == "D_402.91" for _, _, c in d402) and any(c != "D_402.91" for _, _, c in d402)
    assert all((c == "D_402.91") == (stage[p, m] == STAGE_HF) for p, m, c in d402)
    assert {group_icd9(c) for c in dx} <= set(codebook(synth.params).names)


def test_transient_cardiac_states_raise_their_codes(synth):
    pid, month = visit_rows(synth)
    st = synth.state_at(pid, month)
    has_786, has_410 = coded(synth, "D_786"), coded(synth, "D_410")
    stage_a = st["stage"] == 0
    assert has_786[stage_a & (st["congestion"] == 1)].mean() > has_786[stage_a & (st["congestion"] == 0)].mean() + 0.3
    assert has_410[st["mi"] == MI_RECENT].mean() > 0.7 and has_410[st["mi"] != MI_RECENT].mean() < 0.01


def test_an_episode_is_coded_while_it_lasts_then_followed_up(synth):
    """Recency: a visit during an episode carries its group; the month after it ends brings V67."""
    t, book = synth.truth, codebook(synth.params)
    pid, month = visit_rows(synth)
    row, kind, follow = episode_status(t, pid, month)
    groups = [set(map(group_icd9, codes)) for codes in synth.cohort.visits["codes"]]
    during = [("D_" + synth.params["episodes"][k]["group"]) in groups[r] for r, k in zip(row[~follow], kind[~follow])]
    assert np.mean(during) > 0.8  # p_group = .85, plus incidental draws of the same group
    # the same kinds' groups at visits of patients NOT in such an episode: rare
    v67 = np.array(["D_V67" in g for g in groups])
    in_follow = np.zeros(len(pid), bool)
    in_follow[row[follow]] = True
    assert v67[in_follow].mean() > 0.2 and v67[~in_follow].mean() < 0.01
    assert len(book.names) > 600


def test_progression_and_care_pathways_unfold_in_time(synth):
    t = synth.truth
    dm = t["chronic_onset"][:, CHRONIC.index("DM")]
    retinopathy = t["acquired_onset"][:, ACQUIRED_NAMES.index("retinopathy")]
    got = retinopathy < NEVER
    assert got.sum() > 50 and np.all(retinopathy[got] >= dm[got] + 24), "retinopathy comes >= 2 years after DM"
    stroke = t["acquired_onset"][:, ACQUIRED_NAMES.index("stroke")] < synth.months
    af = t["chronic_onset"][:, CHRONIC.index("AF")] < synth.months
    assert np.all(af[stroke]), "strokes come from AF"
    anticoagulated = t["anticoagulated"] & af
    assert stroke[anticoagulated].mean() < stroke[af & ~t["anticoagulated"]].mean()
    escalated = t["dm_escalation"] < NEVER
    assert np.all(t["dm_escalation"][escalated] >= dm[escalated] + 12), "insulin after a year of metformin"
    pid, month = visit_rows(synth)
    insulin = np.array(["RX_INSUL" in codes for codes in synth.cohort.visits["codes"]])
    assert not insulin[month < t["dm_escalation"][pid]].any()
    d362 = coded(synth, "D_362")
    assert not d362[month < retinopathy[pid]].any() and d362[month >= retinopathy[pid]].mean() > 0.4


def test_order_effects_off_switches_every_order_mechanism(synth, flat):
    on, off = default_params(True), default_params(False)
    assert off["hazards"]["HF"]["E"] == 0 and off["hazards"]["HF"]["MIr"] == off["hazards"]["HF"]["MIo"]
    assert off["visit"]["E"] == 0 and all("E" not in spec["parents"] for spec in off["core"].values())
    assert any(set(SYMPTOM_CODES) & set(e["co"]) for e in on["episodes"])
    assert not any(set(SYMPTOM_CODES) & set(e["co"]) for e in off["episodes"])
    t = flat.truth
    ep = t["episodes"]
    assert np.all(ep["end"] == ep["start"]), "episodes last one month"
    assert not any("D_V67" in map(group_icd9, codes) for codes in flat.cohort.visits["codes"]), "no follow-ups"
    for j, name in enumerate(ACQUIRED_NAMES[:3]):  # complications begin with their parent disease
        parent = CHRONIC.index(off["acquired"][name]["after"][0])
        got = t["acquired_onset"][:, j] < NEVER
        np.testing.assert_array_equal(t["acquired_onset"][got, j], t["chronic_onset"][got, parent])
    dm = t["chronic_onset"][:, CHRONIC.index("DM")]
    escalated = t["dm_escalation"] < NEVER
    np.testing.assert_array_equal(t["dm_escalation"][escalated], dm[escalated])
    # the congestion state is invisible: the same symptom rate with and without it (within sampling error)
    pid, month = visit_rows(flat)
    st = flat.state_at(pid, month)
    has_786 = coded(flat, "D_786")
    a = st["stage"] == 0
    p1, p0 = has_786[a & (st["congestion"] == 1)].mean(), has_786[a & (st["congestion"] == 0)].mean()
    assert abs(p1 - p0) < 0.03, (p1, p0)
    assert 0.08 <= flat.summary()["hf_incidence_5y"] <= 0.13  # the HF intercept was re-calibrated


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
