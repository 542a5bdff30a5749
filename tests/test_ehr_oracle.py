"""The oracles against Monte-Carlo simulation from the same latent state, with the generator's own code."""
import numpy as np
import pytest

from labutils.ehr import (emission_probs, expected_log_gap, generate_cohort, group_icd9, hf_hazard,
                          hf_likelihood_ratio, next_visit_given_t)
from labutils.ehr.codebook import codebook
from labutils.ehr.generator import (NEVER, cardiac_visit_rate, emit, episode_status, hazard_arrays, new_stroke,
                                    step)
from labutils.ehr.oracle import survival_curve
from labutils.ehr.parameters import DAYS_PER_MONTH

R = 10_000  # simulations per state: a probability's standard error is at most 0.005


@pytest.fixture(scope="module")
def synth():
    return generate_cohort(1500, seed=21)


def pick_states(synth, month, n_high=3, n_random=3, seed=0):
    """Patients without HF at ``month``: the highest-hazard ones (congestion, recent MI) and random ones."""
    cand = np.flatnonzero(synth.truth["stage"][:, month] < 2)
    haz = hf_hazard(synth, cand, np.full(len(cand), month))
    rng = np.random.default_rng(seed)
    return np.concatenate([cand[np.argsort(-haz)[:n_high]], rng.choice(cand, n_random, replace=False)])


def simulate_survival(synth, patients, month, n_steps, seed=0):
    """Fraction of R simulated futures still free of HF after 0..n_steps months, per patient (n, n_steps + 1)."""
    rng, t = np.random.default_rng(seed), synth.truth
    rows = np.repeat(patients, R)
    chronic, mi = t["chronic"][rows, month].copy(), t["mi"][rows, month].copy()
    stage, congestion = t["stage"][rows, month].copy(), t["congestion"][rows, month].copy()
    coefs, out = hazard_arrays(synth.params), [np.ones(len(patients))]
    for j in range(1, n_steps + 1):
        chronic, mi, stage, congestion, _ = step(chronic, mi, stage, congestion, synth.static(rows, month + j - 1),
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


def group_frequencies(codes, book):
    """Fraction of visits (lists of full codes) carrying each group of the code book."""
    freq = np.zeros(len(book.names))
    for visit in codes:
        for g in {group_icd9(x) for x in visit}:
            freq[book.index[g]] += 1
    return freq / max(len(codes), 1)


def assert_frequencies_match(exact, freq, n, book, what, slack=0.0):
    """Every code's simulated frequency within 4.5 standard errors of its exact probability (hundreds of codes
    are tested at once, so the bound is wide)."""
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-5) / n)
    z = (np.abs(freq - exact) - slack - 0.5 / n) / se  # with a continuity correction: rare codes are counts
    worst = int(z.argmax())
    assert z.max() < 4.5, f"{what}: worst code {book.names[worst]} exact {exact[worst]:.4f} simulated {freq[worst]:.4f}"


def visit_samples(synth, month, n_visits, seed):
    """(patient, month) of visits: at random, during an episode, in a follow-up month, in HF, and with an acquired
    condition on the second line of diabetes treatment."""
    t = synth.truth
    pid, mon = np.nonzero(t["visit"] & (np.arange(synth.months) < month))
    row, _, follow = episode_status(t, pid, mon)
    rng = np.random.default_rng(seed)
    in_hf = np.flatnonzero(t["stage"][pid, mon] == 2)
    acquired = np.flatnonzero((t["acquired_onset"][pid] <= mon[:, None]).any(1) & (mon >= t["dm_escalation"][pid]))
    chosen = np.concatenate([rng.choice(len(pid), n_visits, replace=False), row[~follow][:1], row[follow][:1],
                             in_hf[:1], acquired[:1]])
    return pid[chosen], mon[chosen]


def test_emission_probabilities_match_simulation(synth):
    """p_c(s): noisy-OR of parents, episodes, follow-ups and incidental codes vs R simulated visits in that state."""
    book, rng = codebook(synth.params), np.random.default_rng(3)
    pid, month = visit_samples(synth, synth.months, 3, seed=3)
    exact = emission_probs(synth, pid, month)
    for k, (p, m) in enumerate(zip(pid, month)):
        codes = emit(synth.truth, np.full(R, p), np.full(R, m), synth.params, rng)
        assert_frequencies_match(exact[k], group_frequencies(codes, book), R, book, f"visit ({p}, {m})")


def held_truth(synth, p, m, states):
    """A one-month truth of simulated states at visit month 0, with what the oracle holds taken from (p, m)."""
    t, n = synth.truth, len(states["mi"])
    shift = lambda a: np.where(a < NEVER, a - m, NEVER)  # noqa: E731  (month m becomes month 0)
    kinds = [np.flatnonzero(s) for s in states["episodes"]]
    counts = np.array([len(k) for k in kinds])
    status = np.concatenate([s[k] for s, k in zip(states["episodes"], kinds)]) if counts.sum() else np.zeros(0, int)
    episodes = {"patient": np.repeat(np.arange(n), counts), "kind": np.concatenate(kinds).astype(int),
                "start": np.where(status == 1, 0, -1), "end": np.where(status == 1, 0, -1)}
    one = lambda key: np.repeat(t[key][p][None], n, 0)  # noqa: E731
    return {"chronic": np.repeat(t["chronic"][p, m][None, None], n, 0), "mi": states["mi"][:, None],
            "stage": states["stage"][:, None], "congestion": states["congestion"][:, None],
            "obese": one("obese"), "lipid": one("lipid"), "anticoagulated": one("anticoagulated"),
            "chronic_onset": shift(one("chronic_onset")), "acquired_onset": shift(one("acquired_onset")),
            "dm_escalation": shift(one("dm_escalation")), "htn_escalation": shift(one("htn_escalation")),
            "episodes": episodes,
            "follow_up": t["follow_up"], "hf_onset_month": np.where(states["onset"], 0, -1)}


def simulate_next_visit(synth, p, m, n, rng):
    """n simulated futures after visit (p, m) under the oracle's model (chronic, acquired conditions and treatment
    lines held): the months to the next visit (-1: none) and the codes of that visit."""
    t, params = synth.truth, synth.params
    coding, coefs = params["episode_coding"], hazard_arrays(params)
    rows = np.full(n, p)
    chronic = np.repeat(t["chronic"][p, m][None], n, 0)
    mi, stage, congestion = (np.full(n, t[k][p, m]) for k in ("mi", "stage", "congestion"))
    _, kind, follow = episode_status(t, [p], [m])
    hazard = t["episode_hazard"][p]
    kinds = np.union1d(np.flatnonzero(hazard * (synth.months - m) > 1e-7), kind)  # the others: as the oracle
    p_start = -np.expm1(-hazard[kinds])
    p_end = 1.0 / np.array([max(params["episodes"][k]["mean_months"], 1.0) for k in kinds])
    status = np.zeros((n, len(kinds)), np.int8)  # 0 inactive, 1 active, 2 follow-up
    status[:, np.searchsorted(kinds, kind)] = np.where(follow, 2, 1)
    held = params["visit"]["stroke new"] * new_stroke(t, [p], [m], params)[0]
    gap = np.full(n, -1)
    seen = {k: np.zeros_like(v) for k, v in (("mi", mi), ("stage", stage), ("congestion", congestion))}
    seen["episodes"], seen["onset"] = np.zeros_like(status), np.zeros(n, bool)
    for j in range(m + 1, synth.months):
        _, mi, stage, congestion, onset = step(chronic, mi, stage, congestion, synth.static(rows, j - 1), params, rng,
                                               coefs)
        u = rng.random(status.shape)
        active, idle = status == 1, status != 1
        ended = active & (u < p_end)
        status = np.where(idle, np.where(rng.random(status.shape) < p_start, 1, 0), np.where(ended, 2, 1))
        rate = (cardiac_visit_rate(chronic, mi, stage, congestion, params) + held
                + coding["visit_boost"] * (status == 1).sum(1) + coding["follow_up_boost"] * (status == 2).sum(1))
        new = (gap < 0) & ((rng.random(n) < -np.expm1(-rate)) | onset)
        gap[new] = j - m
        for key, value in (("mi", mi), ("stage", stage), ("congestion", congestion), ("episodes", status),
                           ("onset", onset)):
            seen[key][new] = value[new]
    ok = gap > 0
    states = {k: v[ok] for k, v in seen.items()}
    every_kind = np.zeros((ok.sum(), len(params["episodes"])), np.int8)
    every_kind[:, kinds] = states["episodes"]
    states["episodes"] = every_kind
    codes = emit(held_truth(synth, p, m, states), np.arange(ok.sum()), np.zeros(ok.sum(), int), params, rng)
    return gap, codes


def test_next_visit_oracles_match_simulation(synth):
    """P(group at the next visit | state at t), integrated over the next visit's month, and E[log gap]."""
    book, rng = codebook(synth.params), np.random.default_rng(5)
    pid, month = visit_samples(synth, 50, 1, seed=5)
    labels = np.array([i for i, name in enumerate(book.names) if name.startswith("D_")])
    exact = next_visit_given_t(synth, pid, month, labels)
    exact_gap = expected_log_gap(synth, pid, month)
    n = 5000
    for k, (p, m) in enumerate(zip(pid, month)):
        gap, codes = simulate_next_visit(synth, p, m, n, rng)
        freq = group_frequencies(codes, book)[labels]
        assert_frequencies_match(exact[k], freq, len(codes), book, f"next visit after ({p}, {m})")
        ok = gap > 0
        day0 = synth.truth["visit_day"][p, m]
        logs = np.log(np.round(DAYS_PER_MONTH * (m + gap[ok])) + rng.integers(0, 30, ok.sum()) - day0)
        se = logs.std() / np.sqrt(ok.sum())
        assert abs(logs.mean() - exact_gap[k]) < 4.5 * se, (k, logs.mean(), exact_gap[k], se)


def test_the_clairvoyant_oracle_sees_more_than_the_state_at_t(synth):
    """At the next visit's own state the oracle ranks the true groups higher than from the state at t."""
    book = codebook(synth.params)
    t = synth.truth
    pid, month = np.nonzero(t["visit"])
    first = np.r_[True, pid[1:] != pid[:-1]]
    keep = ~np.r_[pid[1:] != pid[:-1], True]  # visits with a next visit of the same patient
    labels = np.array([i for i, name in enumerate(book.names) if name.startswith("D_")])
    src = np.flatnonzero(keep)[:400]
    given_t = next_visit_given_t(synth, pid[src], month[src], labels)
    at_next = emission_probs(synth, pid[src + 1], month[src + 1])[:, labels]
    assert not first[src + 1].any()
    codes = synth.cohort.visits["codes"].to_numpy()[src + 1]
    truth = np.zeros_like(at_next, bool)
    column = {g: j for j, g in enumerate(np.array(book.names)[labels])}
    for r, visit in enumerate(codes):
        for g in {group_icd9(c) for c in visit if c.startswith("D_")}:
            truth[r, column[g]] = True
    log_lik = lambda q: (np.log(np.clip(q, 1e-9, 1))[truth].sum() + np.log(np.clip(1 - q, 1e-9, 1))[~truth].sum())  # noqa: E731
    assert log_lik(at_next) > log_lik(given_t)
