"""Exact scores from the generator's own latent state: the ceilings every model is read against.

- ``hf_likelihood_ratio``: for the HF case-control design, ``LR(s) = P(HF onset exactly at the index month | s) /
  P(no HF through index + 6 months | s)``, where ``s`` is the latent state in the last month of the observation
  window. It is the Bayes-optimal ranking of cases against controls. It is computed by propagating the full chain
  (32 chronic patterns x 15 MI/stage/episode states) forward month by month; for ``pred_months = 0`` its numerator
  is the one-step hazard ``1 - exp(-lambda_HF(s))`` in closed form (``hf_hazard``).
- ``emission_probs``: the probability that each code group appears at a visit in a given latent state, exact
  (noisy-OR over the active conditions times the closed-form marginal of the acute visit reasons).
- ``expected_log_gap``: ``E[log(days to the next visit) | state at this visit]``, propagating MI, stage and episode
  exactly; the chronic conditions are held at their value at the visit (an onset during a gap is rare and shifts
  the expectation by well under the Monte-Carlo error of the tests).

All are "clairvoyant": they see the latent state, which no model does.
"""
from __future__ import annotations

import numpy as np

from .generator import (EVENTS, MI_NONE, MI_OLD, MI_RECENT, STAGE_A, STAGE_B, STAGE_HF, DAYS_PER_MONTH,
                        codebook, event_probs, hazard_arrays, parent_features, state_features, visit_probs)

# The 15 "fast" states: 12 without HF (mi, stage A/B, episode) then 3 with HF (mi; no episode).
F_MI = np.array([mi for mi in range(3) for st in range(2) for e in range(2)] + [0, 1, 2])
F_STAGE = np.array([st for mi in range(3) for st in range(2) for e in range(2)] + [2, 2, 2])
F_EP = np.array([e for mi in range(3) for st in range(2) for e in range(2)] + [0, 0, 0])
N_F, N_NONHF = 15, 12
F_VARIANT = 2 * (F_STAGE == STAGE_B) + (F_MI == MI_RECENT)  # what the chronic hazards see of a fast state (AF)
_BY_VARIANT = np.argsort(F_VARIANT, kind="stable")  # fast states grouped by variant
_VARIANT_START = np.searchsorted(F_VARIANT[_BY_VARIANT], np.arange(4))
_NONHF_V = (_BY_VARIANT < N_NONHF).astype(np.float64)
BITS = (np.arange(32)[:, None] >> np.arange(5)) & 1  # chronic pattern index -> 5 bits
_EV = {e: i for i, e in enumerate(EVENTS)}


def f_index(mi, stage, episode) -> np.ndarray:
    """Index into the 15 fast states."""
    mi, stage, episode = np.asarray(mi), np.asarray(stage), np.asarray(episode)
    return np.where(stage == STAGE_HF, N_NONHF + mi, mi * 4 + stage * 2 + episode).astype(np.int64)


def chronic_index(chronic) -> np.ndarray:
    """Index of a chronic pattern (…, 5) among the 32."""
    return (np.asarray(chronic).astype(np.int64) << np.arange(5)).sum(-1)


class Chain:
    """Month-by-month propagation of state distributions for a batch of patients who share ``n_free``.

    ``dist`` has shape (n, C, 15). Each patient's chronic patterns are its starting pattern plus any subset of
    the ``n_free`` conditions it does not have yet (C = 2**n_free; ``n_free=0`` holds the pattern fixed), so the
    propagation is exact while touching only reachable patterns.
    """

    def __init__(self, params: dict, chronic0: np.ndarray, static_at, track_chronic: bool = True):
        """``static_at(j)`` returns (static features (n, 4), a key that changes when they do) j months on."""
        chronic0 = np.asarray(chronic0).astype(bool)
        n = len(chronic0)
        self.params, self.static_at, self._key = params, static_at, None
        coefs = hazard_arrays(params)
        absent = ~chronic0
        n_free = int(absent.sum(1).max()) if (track_chronic and n) else 0
        if track_chronic and n and np.any(absent.sum(1) != n_free):
            raise ValueError("Chain: every patient of a batch needs the same number of absent conditions.")
        self.n_free, C = n_free, 2 ** n_free
        local = ((np.arange(C)[:, None] >> np.arange(n_free)) & 1).astype(bool)  # (C, n_free)
        self.free_bits = np.argsort(~absent, axis=1, kind="stable")[:, :n_free]  # which conditions may start
        pats = np.repeat(chronic0[:, None, :], C, axis=1)
        for i in range(n_free):
            pats[np.arange(n)[:, None], np.arange(C)[None, :], self.free_bits[:, i:i + 1]] = local[None, :, i]
        self.pats = pats
        feats = state_features(np.broadcast_to(pats[:, :, None, :], (n, C, N_F, 5)), F_MI, F_STAGE, F_EP)
        self.exp_state = np.exp(coefs["b0"] + feats @ coefs["state"])  # (n, C, 15, events)
        self.coef_static = coefs["static"]
        self.visit = visit_probs(np.broadcast_to(pats[:, :, None, :], (n, C, N_F, 5)), F_MI, F_STAGE, F_EP, params)
        self.p_rec = -np.expm1(-params["mi_recovery_rate"])
        self.p_end = -np.expm1(-params["episode_end_rate"])
        self.superset = np.all(~local[:, None, :] | local[None, :, :], axis=-1)  # [j, j']: j' contains j
        self.local, self.absent_local = local.astype(np.float64), ~local
        self.rep = np.array([np.flatnonzero(F_VARIANT == v)[0] for v in range(4)])
        self.groups = [np.flatnonzero(F_VARIANT == v) for v in range(4)]

    def _prepare(self, static):
        """Transition pieces for the current static features (they change once a year)."""
        lam = np.exp(static @ self.coef_static)[:, None, None, :] * self.exp_state
        p = -np.expm1(-lam)  # (n, C, 15, events)
        p_mi, p_hf, p_ab, p_e = (p[..., _EV[k]] for k in ("MI", "HF", "AB", "E"))
        none, rec, old = F_MI == MI_NONE, F_MI == MI_RECENT, F_MI == MI_OLD
        self.pm = np.stack([np.where(none, 1 - p_mi, 0.0), np.where(rec, 1 - self.p_rec, p_mi),
                            np.where(rec, self.p_rec, np.where(old, 1 - p_mi, 0.0))], axis=-1)  # (n, C, 15, 3)
        hf_now = F_STAGE == STAGE_HF
        no_hf = np.where(hf_now, 0.0, 1 - p_hf)
        to_b = np.where(F_STAGE == STAGE_A, p_ab, 1.0)  # B stays B
        ep = np.where(F_EP == 1, 1 - self.p_end, p_e)  # P(episode next month | no HF)
        a_stage, b_stage = no_hf * (1 - to_b), no_hf * to_b
        self.ps = np.stack([a_stage * (1 - ep), a_stage * ep, b_stage * (1 - ep), b_stage * ep,
                            np.where(hf_now, 1.0, p_hf)], axis=-1)  # (n, C, 15, 5): A0 A1 B0 B1 HF
        self.pm_v, self.ps_v = self.pm[:, :, _BY_VARIANT], self.ps[:, :, _BY_VARIANT]
        if self.n_free == 0:  # one pattern: a plain 15 x 15 transition matrix per patient (+ onset columns)
            joint = self.pm[:, 0, :, :, None] * self.ps[:, 0, :, None, :]  # (n, 15, 3, 5)
            self.matrix = self._assemble(joint)  # (n, 15 old, 15 new)
            self.matrix_onset = joint[..., 4] * (np.arange(N_F) < N_NONHF)[None, :, None]  # (n, 15, 3)
            return
        # chronic onsets see the fast state only through the AF hazard (stage B, recent MI): 4 variants
        q = np.take_along_axis(p[:, :, self.rep, :5], self.free_bits[:, None, None, :], axis=-1)  # (n, C, 4, L)
        with np.errstate(divide="ignore"):
            lq, l1q = np.log(q), np.log1p(-q)
        absent = self.absent_local[None, :, None, :]
        base = np.where(absent, l1q, 0.0).sum(-1)  # every absent condition stays absent ...
        gain = np.where(absent, lq - l1q, 0.0)  # ... except those that start
        log_pc = base[..., None] + gain @ self.local.T  # (n, C, 4, C')
        pc = np.where(self.superset[None, :, None, :], np.exp(np.minimum(log_pc, 0.0)), 0.0)
        n, C = pc.shape[:2]
        self.pc = np.ascontiguousarray(pc.reshape(n, C * 4, C).swapaxes(1, 2))  # (n, C', C*4)

    def step(self, dist: np.ndarray, month_old):
        """One month from ``month_old``: returns (new dist, mass that entered HF this month (n, C, 3))."""
        static, key = self.static_at(month_old)
        if self._key is None or not np.array_equal(key, self._key):
            self._prepare(static)
            self._key = key
        n, C = dist.shape[:2]
        if self.n_free == 0:
            return np.matmul(dist, self.matrix), np.matmul(dist, self.matrix_onset)
        # joint of (old fast state, new MI, new stage/episode/HF), summed over old states by variant
        prod = (dist[..., _BY_VARIANT, None] * self.pm_v)[..., None] * self.ps_v[..., None, :]  # (n, C, 15, 3, 5)
        onset_terms = prod[..., 4] * _NONHF_V[:, None]
        t = np.add.reduceat(prod, _VARIANT_START, axis=2)  # (n, C, 4, 3, 5)
        o = np.add.reduceat(onset_terms, _VARIANT_START, axis=2)  # (n, C, 4, 3)
        new = np.matmul(self.pc, t.reshape(n, C * 4, 15))
        onset = np.matmul(self.pc, o.reshape(n, C * 4, 3))
        return self._assemble(new.reshape(n, C, 3, 5)), onset

    @staticmethod
    def _assemble(t):
        """(…, 3 mi', 5 [A0 A1 B0 B1 HF]) -> (…, 15) in the fast-state order."""
        out = np.empty(t.shape[:-2] + (N_F,))
        out[..., :N_NONHF] = t[..., :4].reshape(t.shape[:-2] + (N_NONHF,))
        out[..., N_NONHF:] = t[..., 4]
        return out


def _batches(chronic0, months, chunk, track_chronic=True):
    """Row groups sharing the number of absent conditions and the month of the year (so the age of all
    patients of a batch changes in the same month), at most ``chunk`` (pattern x patient) rows each."""
    free = 5 - np.asarray(chronic0).astype(bool).sum(1) if track_chronic else np.zeros(len(months), int)
    key = free * 12 + np.asarray(months) % 12
    for k in np.unique(key):
        rows = np.flatnonzero(key == k)
        size = max(chunk // 2 ** int(k // 12), 16)
        for a in range(0, len(rows), size):
            yield rows[a:a + size]


def _static_fn(synth, patients, months):
    def static_at(j):
        return synth.static(patients, months + j), (months + j) // 12
    return static_at


def _static(synth, patients, month):
    return synth.static(patients, month)


def hf_hazard(synth, patients, months) -> np.ndarray:
    """Closed form P(HF onset in month m+1 | state at month m) = 1 - exp(-lambda_HF(s_m))."""
    patients, months = np.asarray(patients), np.asarray(months)
    st = synth.state_at(patients, months)
    feats = state_features(st["chronic"], st["mi"], st["stage"], st["episode"])
    p = event_probs(synth.static(patients, months), feats, hazard_arrays(synth.params))[:, _EV["HF"]]
    return np.where(st["stage"] == STAGE_HF, 0.0, p)


def survival_curve(synth, patients, months, n_steps: int, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """P(no HF through month m + j | state at month m), j = 0..n_steps: array (n, n_steps + 1), exact.

    Also returns P(HF onset exactly in month m + j | state at month m): (n, n_steps + 1), column 0 = 0.
    """
    patients, months = np.asarray(patients), np.asarray(months)
    st = synth.state_at(patients, months)
    if np.any(st["stage"] == STAGE_HF):
        raise ValueError("survival_curve needs states without HF.")
    surv = np.ones((len(patients), n_steps + 1))
    for rows in _batches(st["chronic"], months, chunk):
        chain = Chain(synth.params, st["chronic"][rows], _static_fn(synth, patients[rows], months[rows]))
        dist = np.zeros((len(rows), chain.pats.shape[1], N_F))
        dist[np.arange(len(rows)), 0, f_index(st["mi"][rows], st["stage"][rows], st["episode"][rows])] = 1.0
        for j in range(1, n_steps + 1):
            dist, _ = chain.step(dist, j - 1)
            surv[rows, j] = dist[..., :N_NONHF].sum((1, 2))
    onset = np.zeros_like(surv)
    onset[:, 1:] = surv[:, :-1] - surv[:, 1:]
    return surv, onset


def hf_likelihood_ratio(synth, patients, last_months, pred_months: int = 0, control_free_months: int = 6) -> np.ndarray:
    """LR = P(onset at last + pred + 1 | s_last) / P(no HF through last + pred + 1 + control_free | s_last)."""
    steps_num = pred_months + 1
    surv, onset = survival_curve(synth, patients, last_months, steps_num + control_free_months)
    return onset[:, steps_num] / surv[:, steps_num + control_free_months]


def emission_probs(synth, patients, months, acute_marginal: bool = True) -> np.ndarray:
    """P(code group k appears at a visit | latent state of (patient, month)): (n, K) over ``codebook(params).names``.

    Exact: noisy-OR of the active parents and the leak, times the closed-form marginal of the acute reasons
    E_k[(1 - sum_r pi_r P(c|r))^k] = (1 - q a_c)^n for k ~ Bin(n, q). The HF onset month's visit always has D_428.
    """
    patients, months = np.asarray(patients), np.asarray(months)
    book, t = codebook(synth.params), synth.truth
    st = synth.state_at(patients, months)
    X = parent_features(st["chronic"], st["mi"], st["stage"], st["episode"], t["obese"][patients], t["lipid"][patients])
    with np.errstate(divide="ignore"):
        log_q = X @ np.log1p(-np.minimum(book.parent_p, 1 - 1e-12)) + np.log1p(-book.leak)
    if acute_marginal:
        acute = synth.params["acute"]
        a = t["acute_propensity"][patients] @ book.reason_p  # P(code | one reason) for this patient
        log_q = log_q + acute["n_max"] * np.log1p(-acute["p"] * np.minimum(a, 1.0))
    p = -np.expm1(log_q)
    p[synth.hf_onset_month[patients] == months, book.hf_code] = 1.0
    return p


def _log_gap_given_months(start_month, k, day_in_month):
    """E over the next visit's day of log(days between the visits) when the next visit is k months later."""
    d0 = np.round(DAYS_PER_MONTH * start_month).astype(np.int64)
    d1 = np.round(DAYS_PER_MONTH * (start_month + k)).astype(np.int64)
    base = d1 - d0 - np.asarray(day_in_month, dtype=np.int64)  # >= 1; the next visit's day is U{0..29} on top
    table = np.log(np.arange(1, base.max() + 31)[:, None] + np.arange(30)[None, :]).mean(1)
    return table[base - 1]


def next_visit_distribution(synth, patients, months, chunk: int = 8192) -> np.ndarray:
    """P(next visit exactly k months later | state at this month, a next visit before the end): (n, months).

    MI, stage and episode are propagated exactly; chronic conditions are held at their value at this month.
    """
    patients, months = np.asarray(patients), np.asarray(months)
    M, n = synth.months, len(patients)
    st = synth.state_at(patients, months)
    out = np.zeros((n, M))
    for rows in _batches(st["chronic"], months, chunk, track_chronic=False):
        chain = Chain(synth.params, st["chronic"][rows], _static_fn(synth, patients[rows], months[rows]),
                      track_chronic=False)
        dist = np.zeros((len(rows), 1, N_F))
        dist[np.arange(len(rows)), 0, f_index(st["mi"][rows], st["stage"][rows], st["episode"][rows])] = 1.0
        horizon = M - 1 - months[rows]
        for k in range(1, int(horizon.max()) + 1 if len(rows) else 1):
            dist, onset = chain.step(dist, k - 1)
            dist[..., N_NONHF:] -= onset  # newly diagnosed HF: always a visit
            out[rows, k] = (dist * chain.visit).sum((1, 2)) + onset.sum((1, 2))
            dist = dist * (1 - chain.visit)
        out[rows] *= np.arange(M)[None, :] <= horizon[:, None]
    total = out.sum(1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


def expected_log_gap(synth, patients, months, day_in_month=None) -> np.ndarray:
    """E[log(days to the next visit) | latent state at this visit's month, its day, and a next visit existing]."""
    patients, months = np.asarray(patients), np.asarray(months)
    if day_in_month is None:
        day_in_month = synth.truth["visit_day"][patients, months] - np.round(DAYS_PER_MONTH * months)
    pk = next_visit_distribution(synth, patients, months)
    k = np.arange(pk.shape[1])
    g = _log_gap_given_months(months[:, None], np.maximum(k[None, :], 1), np.asarray(day_in_month)[:, None])
    return (pk * g).sum(1)
