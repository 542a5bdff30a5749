"""The oracles against Monte-Carlo simulation from the same latent state, with the generator's own code."""
import numpy as np
import pytest

from labutils.ehr import (emission_probs, expected_log_gap, generate_cohort, group_icd9, hf_hazard,
                          hf_likelihood_ratio)
from labutils.ehr.generator import (DAYS_PER_MONTH, _emit, codebook, hazard_arrays, step,
                                    visit_probs)
from labutils.ehr.oracle import survival_curve

R = 10_000  # simulations per state: a probability's standard error is at most 0.005


@pytest.fixture(scope="module")
def synth():
    return generate_cohort(1500, seed=21)


def pick_states(synth, month, n_high=3, n_random=3, seed=0):
    """Patients without HF at ``month``: the highest-hazard ones (episodes, recent MI) and random ones."""
    cand = np.flatnonzero(synth.truth["stage"][:, month] < 2)
    haz = hf_hazard(synth, cand, np.full(len(cand), month))
    rng = np.random.default_rng(seed)
    return np.concatenate([cand[np.argsort(-haz)[:n_high]], rng.choice(cand, n_random, replace=False)])


def simulate_survival(synth, patients, month, n_steps, seed=0):
    """Fraction of R simulated futures still free of HF after 0..n_steps months, per patient (n, n_steps + 1)."""
    rng, t = np.random.default_rng(seed), synth.truth
    rows = np.repeat(patients, R)
    chronic, mi = t["chronic"][rows, month].copy(), t["mi"][rows, month].copy()
    stage, episode = t["stage"][rows, month].copy(), t["episode"][rows, month].copy()
    coefs, out = hazard_arrays(synth.params), [np.ones(len(patients))]
    for j in range(1, n_steps + 1):
        chronic, mi, stage, episode, _ = step(chronic, mi, stage, episode, synth.static(rows, month + j - 1),
                                              synth.params, rng, coefs)
        out.append((stage < 2).reshape(len(patients), R).mean(1))
    return np.stack(out, 1)


@pytest.mark.parametrize("order_effects", [True, False])
def test_survival_and_likelihood_ratio_match_simulation(order_effects):
    synth = generate_cohort(1500, seed=21, order_effects=order_effects)
    month = 30
    patients = pick_states(synth, month)
    months = np.full(len(patients), month)
    exact, onset = survival_curve(synth, patients, months, 13)
    mc = simulate_survival(synth, patients, month, 13)
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-6) / R)
    z = np.abs(mc - exact) / se
    assert z.max() < 4.5, f"propagation vs simulation: worst z = {z.max():.2f} at {np.unravel_index(z.argmax(), z.shape)}"
    if order_effects:  # the high-hazard states really are high: the transient mechanisms are covered
        assert exact[:3, 1].max() < 0.95
    # the LR is built from those same curves
    for pred in (0, 6):
        lr = hf_likelihood_ratio(synth, patients, months, pred_months=pred)
        np.testing.assert_allclose(lr, onset[:, pred + 1] / exact[:, pred + 7], rtol=1e-12)


def test_one_step_hazard_is_the_closed_form(synth):
    month = 40
    patients = np.flatnonzero(synth.truth["stage"][:, month] < 2)[:300]
    months = np.full(len(patients), month)
    _, onset = survival_curve(synth, patients, months, 1)
    np.testing.assert_allclose(onset[:, 1], hf_hazard(synth, patients, months), rtol=1e-10, atol=1e-15)


def test_emission_probabilities_match_simulation(synth):
    """p_c(s) (noisy-OR x closed-form acute marginal) vs the frequency of each group over R simulated visits."""
    t, book = synth.truth, codebook(synth.params)
    pid, month = np.nonzero(t["visit"])
    rng = np.random.default_rng(3)
    chosen = rng.choice(len(pid), 3, replace=False)
    # a visit with an episode, if there is one, to cover the symptom codes
    ep = np.flatnonzero(t["episode"][pid, month] == 1)
    chosen = np.concatenate([chosen, ep[:1]])
    exact = emission_probs(synth, pid[chosen], month[chosen])
    for k, c in enumerate(chosen):
        p, m = pid[c], month[c]
        fake = {key: t[key] for key in ("chronic", "mi", "stage", "episode", "obese", "lipid", "acute_propensity")}
        codes = _emit(fake, np.full(R, p), np.full(R, m), synth.hf_onset_month, synth.params, book, rng)
        freq = np.zeros(len(book.names))
        for visit in codes:
            for g in {group_icd9(x) for x in visit}:
                freq[book.index[g]] += 1
        freq /= R
        se = np.sqrt(np.maximum(exact[k] * (1 - exact[k]), 1e-5) / R)
        z = np.abs(freq - exact[k]) / se
        assert z.max() < 4.5, f"visit {c}: worst code {book.names[z.argmax()]} exact {exact[k, z.argmax()]:.4f} " \
                              f"simulated {freq[z.argmax()]:.4f}"


def test_expected_log_gap_matches_simulation(synth):
    t = synth.truth
    pid, month = np.nonzero(t["visit"] & (np.arange(synth.months) < 50))
    rng = np.random.default_rng(5)
    chosen = rng.choice(len(pid), 4, replace=False)
    exact = expected_log_gap(synth, pid[chosen], month[chosen])
    coefs, n = hazard_arrays(synth.params), 4000
    for k, c in enumerate(chosen):
        p, m = pid[c], month[c]
        rows = np.full(n, p)
        chronic, mi = np.repeat(t["chronic"][p, m][None], n, 0), np.full(n, t["mi"][p, m])
        stage, episode = np.full(n, t["stage"][p, m]), np.full(n, t["episode"][p, m])
        nxt = np.full(n, -1)
        for j in range(m + 1, synth.months):
            chronic, mi, stage, episode, onset = step(chronic, mi, stage, episode, synth.static(rows, j - 1),
                                                      synth.params, rng, coefs)
            visit = (rng.random(n) < visit_probs(chronic, mi, stage, episode, synth.params)) | onset
            nxt[(nxt < 0) & visit] = j
        ok = nxt >= 0
        day0 = t["visit_day"][p, m]
        day1 = np.round(DAYS_PER_MONTH * nxt[ok]) + rng.integers(0, 30, ok.sum())
        logs = np.log(day1 - day0)
        se = logs.std() / np.sqrt(len(logs))
        # chronic conditions are held fixed over the gap: allow 0.01 on top of sampling error
        assert abs(logs.mean() - exact[k]) < 4 * se + 0.01, (k, logs.mean(), exact[k], se)
