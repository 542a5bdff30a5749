"""HF case-control (Choi et al. 2017) and Doctor AI tasks: design rules, patient-level split, no leak, oracles."""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from labutils.ehr import (EHRCohort, build_vocabulary, doctor_ai_task, generate_cohort, hf_case_control,
                          hf_diagnosis, is_hf_code, load_mimic3, to_mimic3_csv)


def multi_hot(patients, n_codes):
    """(N, T, n_codes) 0/1 array of the codes of each visit (a test helper)."""
    t_max = max([len(p) for p in patients] + [0])
    x = np.zeros((len(patients), t_max, n_codes))
    for n, visits in enumerate(patients):
        for t, codes in enumerate(visits):
            x[n, t, codes] = 1
    return x


@pytest.fixture(scope="module")
def synth():
    return generate_cohort(3000, seed=31)


@pytest.fixture(scope="module")
def task(synth):
    return hf_case_control(synth, obs_months=18, pred_months=0, seed=1)


def test_case_control_design(synth, task):
    t, labels, src = synth.truth, task.labels, task.source_patient
    assert labels.sum() > 150 and 8 <= (labels == 0).sum() / labels.sum() <= 10
    assert len(np.unique(task.cohort.patients["patient_id"])) == len(task)  # one row per sample
    # cases: onset at the index month (the HF code read from full codes gives the true onset), age 40-85
    cases = labels == 1
    np.testing.assert_array_equal(synth.hf_onset_month[src[cases]], task.index_month[cases])
    assert task.age[cases].min() >= 40 and task.age[cases].max() <= 85
    for case in np.flatnonzero(cases):
        group = np.flatnonzero(task.case_id == task.case_id[case])
        controls = group[labels[group] == 0]
        assert len(controls) <= 10 and len(set(src[controls])) == len(controls)
        assert (task.index_time[group] == task.index_time[case]).all(), "index date shared with the case"
        assert (task.sex[controls] == task.sex[case]).all()
        birth = synth.cohort.patients["birth_date"].to_numpy()[src[group]].astype("datetime64[D]")
        age_at_index_month = (synth.month_start(task.index_month[case]) - birth).astype(float) / 365.25
        assert len(set(np.floor(age_at_index_month / 5))) == 1, "controls matched on the 5-year age band"
    # controls: HF-free through index + 6 months
    onset = synth.hf_onset_month[src[~cases]]
    assert ((onset < 0) | (onset > task.index_month[~cases] + 6)).all()
    # at least 2 visits in the observation window
    assert task.cohort.visit_counts().min() >= 2


def test_split_is_by_patient(task):
    parts = pd.DataFrame({"patient": task.source_patient, "part": task.split}).groupby("patient")["part"].nunique()
    assert parts.max() == 1, "a patient appears in two parts of the split"
    fractions = pd.Series(task.split).value_counts(normalize=True)
    assert set(fractions.index) == {"train", "val", "test"} and 0.5 < fractions["train"] < 0.7


def test_no_record_after_the_window_reaches_the_input(synth, task):
    """(1) every input visit lies inside its window; (2) the model's padded input equals one rebuilt from the raw
    records cut at the window's end; (3) rewriting every record after the windows changes nothing."""
    v = task.cohort.visits
    start = synth.month_start(task.index_month - task.pred_months - task.obs_months).astype("datetime64[ns]")
    owner = v["patient_id"].to_numpy()
    assert (v["time"].to_numpy() < task.window_end[owner]).all() and (v["time"].to_numpy() >= start[owner]).all()
    vocab = build_vocabulary(task.cohort)
    # no qualifying HF code is visible, for cases or controls (the diagnosis visit is outside the window)
    assert not any(is_hf_code(c) for codes in v["codes"] for c in codes)
    raw = synth.cohort.visit_table()
    samples = np.random.default_rng(0).choice(len(task), 40, replace=False)
    seqs = task.cohort.sequences(vocab)
    got = multi_hot([seqs[s] for s in samples], len(vocab))
    expected = []
    for s in samples:
        rows = raw[(raw["patient_id"] == task.source_patient[s]) & (raw["time"] >= start[s])
                   & (raw["time"] < task.window_end[s])]
        expected.append([[vocab.index(c) for c in codes if c in vocab] for codes in rows["codes"]])
    np.testing.assert_array_equal(got, multi_hot(expected, len(vocab)))
    # perturb the future: every visit after the last possible window end loses its non-HF codes and gains a marker
    last_end = task.window_end.max()
    cohort = synth.cohort
    future = cohort.visits["time"].to_numpy() >= last_end
    visits = cohort.visits.copy()
    visits.loc[future, "codes"] = pd.Series([[c for c in codes if is_hf_code(c)] + ["RX_FUTURE"]
                                             for codes in visits.loc[future, "codes"]], index=visits.index[future])
    changed = type(synth)(EHRCohort(cohort.patients.copy(), visits, cohort.name), synth.truth, synth.hf_onset_month,
                          synth.params, synth.seed, synth.start_date)
    again = hf_case_control(changed, obs_months=18, pred_months=0, seed=1, with_oracle=False)
    assert again.cohort.visits["codes"].tolist() == task.cohort.visits["codes"].tolist()
    np.testing.assert_array_equal(again.labels, task.labels)


def test_prediction_window_hides_the_last_months(synth):
    w6 = hf_case_control(synth, obs_months=12, pred_months=6, seed=1, with_oracle=False)
    v = w6.cohort.visits
    idx_start = synth.month_start(w6.index_month)[v["patient_id"].to_numpy()]
    gap = (idx_start - v["time"].to_numpy().astype("datetime64[D]")).astype(float)
    assert gap.min() > 6 * 30, "a visit from the 6-month prediction window is visible"
    assert np.isnan(w6.oracle).all() and len(w6) > 0


def test_oracle_beats_counts(task):
    """The clairvoyant oracle ranks test cases better than logistic regression on code counts fitted on the train
    and validation samples (codes seen in at least 20 of them)."""
    vocab = build_vocabulary(task.cohort, prefixes=("D_", "RX_", "PX_"), min_count=20)
    x = np.zeros((len(task), len(vocab)))
    for n, visits in enumerate(task.cohort.sequences(vocab)):
        for codes in visits:
            x[n, codes] += 1
    X = np.hstack([np.log1p(x), task.age[:, None] / 10, (task.sex == "M")[:, None]])
    fit, test = task.split != "test", task.split == "test"
    lr = LogisticRegression(C=0.1, max_iter=2000).fit(X[fit], task.labels[fit])
    auc_lr = roc_auc_score(task.labels[test], lr.decision_function(X[test]))
    auc_oracle = roc_auc_score(task.labels[test], task.oracle[test])
    assert auc_oracle > auc_lr + 0.01, (auc_oracle, auc_lr)
    assert auc_oracle > 0.85


def test_case_control_on_plain_records():
    """The design works on any EHRCohort (real records: no oracle). Hand-made: one case (HF on 2012-06-15) and
    candidates that differ in one rule each."""
    birth = {"case": "1950-03-01", "ok1": "1951-01-01", "ok2": "1949-06-01", "hf_soon": "1950-01-01",
             "hf_late": "1950-01-01", "female": "1950-01-01", "old": "1940-01-01", "one_visit": "1950-01-01"}
    sex = {p: ("F" if p == "female" else "M") for p in birth}
    patients = pd.DataFrame({"patient_id": list(birth), "sex": [sex[p] for p in birth],
                             "birth_date": list(birth.values())})
    rows = []
    for p in birth:   # two visits inside every 18-month window before mid-2012, one early visit to start the grid
        dates = ["2010-01-02", "2011-09-01", "2012-02-01"] if p != "one_visit" else ["2010-01-02", "2012-02-01"]
        rows += [(p, d, ["D_401.9"]) for d in dates]
    rows += [("case", "2012-06-15", ["D_428.0"]), ("hf_soon", "2012-09-01", ["D_428.0"]),
             ("hf_late", "2013-06-01", ["D_428.0"]), ("ok1", "2013-06-01", ["D_250.00"])]
    visits = pd.DataFrame(rows, columns=["patient_id", "time", "codes"])
    visits["visit_id"] = np.arange(len(visits))
    task = hf_case_control(EHRCohort(patients, visits), obs_months=18, seed=0)
    source = task.cohort.patients["source_patient"].to_numpy()
    group = np.flatnonzero(task.case_id == task.case_id[np.flatnonzero(source == "case")[0]])
    assert task.labels[group].tolist() == [1, 0, 0, 0] and source[group[0]] == "case"
    # same sex, same 5-year band, HF-free for 6 months after the index date, 2 visits in the window
    assert sorted(source[group[1:]]) == ["hf_late", "ok1", "ok2"]
    assert (task.index_time[group] == np.datetime64("2012-06-15")).all() and np.isnan(task.oracle).all()
    # only the window's visits: the 2010 visit is older than 18 months, the HF visit is at the index date
    assert task.cohort.visit_counts()[group].tolist() == [2, 2, 2, 2]
    assert not any(is_hf_code(c) for codes in task.cohort.visits["codes"] for c in codes)


def test_case_control_on_loaded_mimic_files(tmp_path):
    """The real-data path end to end: MIMIC-shaped files written from a synthetic cohort, loaded back, and the
    design built from the loaded records agrees with the one built from the simulation's own records."""
    small = generate_cohort(800, seed=33)
    to_mimic3_csv(small.cohort, tmp_path)
    loaded = hf_case_control(load_mimic3(tmp_path), obs_months=18, seed=0)
    direct = hf_case_control(small.cohort, obs_months=18, seed=0)
    assert loaded.labels.sum() > 10 and np.isnan(loaded.oracle).all()
    assert loaded.labels.sum() == direct.labels.sum() and len(loaded) == len(direct)
    assert not any(is_hf_code(c) for codes in loaded.cohort.visits["codes"] for c in codes)


def test_hf_label_uses_full_codes():
    patients = pd.DataFrame({"patient_id": [1, 2], "sex": ["M", "F"], "birth_date": ["1950-01-01"] * 2})
    visits = pd.DataFrame({"patient_id": [1, 1, 2], "visit_id": [1, 2, 3],
                           "time": ["2010-01-01", "2010-05-01", "2010-02-01"],
                           "codes": [["D_402.90"], ["D_402.91"], ["D_402.10", "D_428"]]})
    dx = hf_diagnosis(EHRCohort(patients, visits))
    assert dx["hf_time"].iloc[0] == pd.Timestamp("2010-05-01")  # 402.90 is hypertensive heart disease WITHOUT HF
    assert pd.isna(dx["hf_time"].iloc[1])  # 402.10 is not HF; a bare 3-digit 428 is not a qualifying code


def test_bad_arguments(synth):
    with pytest.raises(ValueError, match="obs_months"):
        hf_case_control(synth, obs_months=0)
    with pytest.raises(ValueError, match="min_visits"):
        doctor_ai_task(synth, min_visits=1)


def test_doctor_ai_task(synth):
    small = generate_cohort(600, seed=32)
    dai = doctor_ai_task(small, seed=2)
    counts = dai.cohort.visit_counts()
    assert counts.min() >= 2 and len(dai) == (small.cohort.visit_counts() >= 2).sum()
    assert all(c.startswith("D_") and "." not in c for c in dai.vocab.codes)
    parts = pd.Series(dai.split).value_counts()
    assert set(parts.index) == {"train", "val", "test"}
    seqs = dai.cohort.sequences(dai.vocab)
    onext, ogap, given_t = dai.oracle_next, dai.oracle_log_gap, dai.oracle_next_given_t
    test = dai.part("test")
    assert len(onext) == len(dai) and sorted(ogap) == sorted(given_t) == test.tolist()
    for i in test:
        steps = len(seqs[i]) - 1
        assert onext[i].shape == given_t[i].shape == (steps, len(dai.vocab)) and ogap[i].shape == (steps,)
        assert np.all((given_t[i] >= 0) & (given_t[i] <= 1 + 1e-6)) and np.all(ogap[i] > 0)
    # both oracles explain the next visit's groups better than the population rates (log-likelihood per label),
    # and the clairvoyant one (state AT the next visit) better than the one from the state at t
    y = np.concatenate([multi_hot([seqs[i][1:]], len(dai.vocab))[0] for i in test])
    rate = np.clip(y.mean(0), 1e-6, 1 - 1e-6)

    def log_lik(p):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    at_next, at_t = np.concatenate([onext[i] for i in test]), np.concatenate([given_t[i] for i in test])
    assert log_lik(at_next) > log_lik(at_t) > log_lik(rate)
    # and the expected log gap correlates with the observed one
    gaps = np.log(np.concatenate([np.asarray(dai.cohort.gap_days()[i][1:]) for i in test]))
    assert np.corrcoef(gaps, np.concatenate([ogap[i] for i in test]))[0, 1] > 0.2
