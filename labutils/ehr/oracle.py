"""Exact heart-failure scores from the generator's latent state: the ceilings HF models are read against.

- ``hf_likelihood_ratio``: for the HF case-control design, ``LR(s) = P(HF onset exactly at the index month | s) /
  P(no HF through index + 6 months | s)``, where ``s`` is the latent state in the last month of the observation
  window. It is the Bayes-optimal ranking of cases against controls. It is computed by propagating the full HF
  chain (32 chronic patterns x 15 MI/stage/congestion states) forward month by month; for ``pred_months = 0`` its
  numerator is the one-step hazard ``1 - exp(-lambda_HF(s))`` in closed form (``hf_hazard``).
- ``Chain`` is that propagation; ``labutils.ehr.visit_oracle`` reuses it for the next-visit oracles.

They are "clairvoyant": they see the latent state, which no model does. Nothing outside the HF chain (episodes,
acquired conditions, treatment lines, visits) changes the HF hazard, so these scores are exact.
"""
from __future__ import annotations

import numpy as np

from .generator import cardiac_visit_rate, event_probs, hazard_arrays, state_features
from .parameters import EVENTS, MI_NONE, MI_OLD, MI_RECENT, STAGE_A, STAGE_B, STAGE_HF

# The 15 cardiac states (MI status, HF stage, congestion), the part of the chain that changes from month to
# month: 12 without HF (MI none/recent/old x stage A/B x congestion) then 3 with HF (MI; no congestion).
STATE_MI = np.array([mi for mi in range(3) for st in range(2) for e in range(2)] + [0, 1, 2])
STATE_STAGE = np.array([st for mi in range(3) for st in range(2) for e in range(2)] + [2, 2, 2])
STATE_CONGESTION = np.array([e for mi in range(3) for st in range(2) for e in range(2)] + [0, 0, 0])
N_CARDIAC, N_BEFORE_HF = 15, 12
AF_VARIANT = 2 * (STATE_STAGE == STAGE_B) + (STATE_MI == MI_RECENT)  # what AF's onset hazard sees of a cardiac state
CHRONIC_BITS = (np.arange(32)[:, None] >> np.arange(5)) & 1  # chronic pattern index -> 5 bits
EVENT_INDEX = {e: i for i, e in enumerate(EVENTS)}


def cardiac_state_index(mi, stage, congestion) -> np.ndarray:
    """Index into the 15 cardiac states."""
    mi, stage, congestion = np.asarray(mi), np.asarray(stage), np.asarray(congestion)
    return np.where(stage == STAGE_HF, N_BEFORE_HF + mi, mi * 4 + stage * 2 + congestion).astype(np.int64)


def chronic_index(chronic) -> np.ndarray:
    """Index of a chronic pattern (…, 5) among the 32."""
    return (np.asarray(chronic).astype(np.int64) << np.arange(5)).sum(-1)


_CORE_BITS = np.array([[k, d, h] for k in (0, 1) for d in (0, 1) for h in (0, 1)], bool)  # CKD, DM, HTN
_CORE_PATTERN = np.array([16 * k + 2 * d + h for k, d, h in _CORE_BITS.astype(int)])  # without CAD and AF


def _check_structure(coefs):
    """The chronic mixing below assumes no chronic hazard depends on CAD or AF (only CAD's and AF's own onsets
    differ), and AF's onset sees the cardiac state only through stage B and a recent MI."""
    st = {f: coefs["state"][i] for i, f in enumerate(("HTN", "DM", "CAD", "AF", "CKD", "B", "MIr", "MIo", "E"))}
    ev = {e: i for i, e in enumerate(EVENTS)}
    core_events = [ev["HTN"], ev["DM"], ev["CKD"], ev["CAD"]]
    bad = any(st[f][core_events].any() for f in ("CAD", "AF", "B", "MIr", "MIo", "E")) or \
        any(st[f][ev["AF"]] != 0 for f in ("DM", "CAD", "CKD", "MIo", "E"))
    if bad:
        raise NotImplementedError("oracle.Chain: these hazard coefficients break the factorised chronic transition "
                                  "(a chronic onset depending on CAD/AF or on MI/congestion state).")


class Chain:
    """Month-by-month propagation of state distributions for a batch of patients.

    ``dist`` has shape (n, C, 15): C = 32 chronic patterns (exact), or C = 1 when ``track_chronic=False`` (each
    patient's pattern held fixed). ``static_at(j)`` returns (static features (n, 4), a key that changes when they
    do) j months after the start; the transition pieces are rebuilt only when the key changes (once a year).
    """

    def __init__(self, params: dict, chronic0: np.ndarray, static_at, track_chronic: bool = True):
        chronic0 = np.asarray(chronic0).astype(bool)
        self.params, self.static_at, self._key = params, static_at, None
        coefs = hazard_arrays(params)
        self.track = track_chronic
        if track_chronic:
            _check_structure(coefs)
        pats = CHRONIC_BITS[None].astype(bool) if track_chronic else chronic0[:, None, :]  # (1, 32, 5) or (n, 1, 5)
        shape = pats.shape[:2] + (N_CARDIAC, 5)
        self.mi, self.stage, self.congestion = STATE_MI, STATE_STAGE, STATE_CONGESTION
        feats = state_features(np.broadcast_to(pats[:, :, None, :], shape), self.mi, self.stage, self.congestion)
        cardiac_events = [EVENT_INDEX[k] for k in ("MI", "HF", "AB", "E")]
        eta = coefs["b0"] + feats @ coefs["state"]  # (·, C, 15, events)
        self.cardiac_rate_factor = np.exp(eta[..., cardiac_events])
        self.cardiac_static_coef, self.coef_static = coefs["static"][:, cardiac_events], coefs["static"]
        if track_chronic:  # chronic onsets: AF for every (pattern, variant); the others for the 8 core patterns
            rep = np.array([np.flatnonzero(AF_VARIANT == v)[0] for v in range(4)])
            self.af_rate_factor = np.exp(eta[:, :, rep, EVENT_INDEX["AF"]])  # (1, 32, 4)
            self.core_rate_factor = np.exp(eta[:, _CORE_PATTERN, rep[0], :5])  # (1, 8, 5)
        self.visit_rate = cardiac_visit_rate(np.broadcast_to(pats[:, :, None, :], shape), STATE_MI, STATE_STAGE,
                                             STATE_CONGESTION, params)
        self.p_rec = -np.expm1(-params["mi_recovery_rate"])
        self.p_end = -np.expm1(-params["congestion_end_rate"])

    def start(self, chronic0, f0) -> np.ndarray:
        """Point masses at the given states: (n, C, 15)."""
        n = len(f0)
        dist = np.zeros((n, 32 if self.track else 1, N_CARDIAC))
        dist[np.arange(n), chronic_index(chronic0) if self.track else 0, f0] = 1.0
        return dist

    def _prepare(self, static):
        """Transition pieces for the current static features."""
        rates = np.exp(static @ self.cardiac_static_coef)[:, None, None, :] * self.cardiac_rate_factor
        p_mi, p_hf, p_ab, p_e = np.moveaxis(-np.expm1(-rates), -1, 0)  # monthly event probabilities, each (n, C, 15)
        none, rec, old = self.mi == MI_NONE, self.mi == MI_RECENT, self.mi == MI_OLD
        p_mi_next = np.stack([np.where(none, 1 - p_mi, 0.0), np.where(rec, 1 - self.p_rec, p_mi),
                              np.where(rec, self.p_rec, np.where(old, 1 - p_mi, 0.0))], axis=-1)  # (n, C, 15, 3)
        hf_now = self.stage == STAGE_HF
        no_hf = np.where(hf_now, 0.0, 1 - p_hf)
        to_b = np.where(self.stage == STAGE_A, p_ab, 1.0)  # B stays B
        ep = np.where(self.congestion == 1, 1 - self.p_end, p_e)  # P(congestion next month | no HF)
        a_stage, b_stage = no_hf * (1 - to_b), no_hf * to_b
        p_stage_next = np.stack([a_stage * (1 - ep), a_stage * ep, b_stage * (1 - ep), b_stage * ep,
                                 np.where(hf_now, 1.0, p_hf)], axis=-1)  # (n, C, 15, 5): A0 A1 B0 B1 HF
        n, C = p_stage_next.shape[:2]
        # old cardiac state -> new (mi' x 5); and -> HF reached from a state without HF, by new mi
        to_cardiac = (p_mi_next[..., :, None] * p_stage_next[..., None, :]).reshape(n, C, N_CARDIAC, 15)
        to_hf_onset = p_mi_next * (p_stage_next[..., 4:] * ~hf_now[:, None])
        if not self.track:  # one pattern: a plain 15 x 18 matrix per patient
            self.matrix = np.concatenate([to_cardiac, to_hf_onset], axis=-1)[:, 0]
            return
        self.to_cardiac, self.to_hf_onset = to_cardiac, to_hf_onset
        # Chronic onsets see the cardiac state only through the AF hazard (stage B, recent MI: 4 variants), and no
        # chronic hazard depends on CAD or AF: the 32 x 32 pattern transition factorises into
        # AF (given HTN and the variant) x CAD (given CKD, DM, HTN) x an 8 x 8 transition of (CKD, DM, HTN).
        q_af = -np.expm1(-np.exp(static @ self.coef_static[:, EVENT_INDEX["AF"]])[:, None, None] * self.af_rate_factor)
        has_af = CHRONIC_BITS[:, 3].astype(bool)[None, :, None]
        p_af = np.stack([np.where(has_af, 0.0, 1 - q_af), np.where(has_af, 1.0, q_af)], axis=-1)  # (n, 32, 4, 2)
        self.p_af = np.ascontiguousarray(p_af[:, :, AF_VARIANT].swapaxes(-1, -2))  # (n, 32, 2 = AF', 15 old cardiac)
        q = -np.expm1(-np.exp(static @ self.coef_static[:, :5])[:, None, :] * self.core_rate_factor)  # (n, 8 core, 5)
        q_cad = q[..., EVENT_INDEX["CAD"]].reshape(n, 2, 2, 2)  # (n, k, d, h)
        p_cad = np.zeros((n, 2, 2, 2, 2, 2))  # (n, k, d, h, c, c')
        p_cad[..., 0, 0], p_cad[..., 0, 1], p_cad[..., 1, 1] = 1 - q_cad, q_cad, 1.0
        core = np.ones((n, 8, 8))
        for bit, event in enumerate(("CKD", "DM", "HTN")):
            was, now = _CORE_BITS[:, None, bit], _CORE_BITS[None, :, bit]
            qe = q[:, :, EVENT_INDEX[event], None]  # (n, 8 old, 1)
            core *= np.where(was, now * 1.0, np.where(now, qe, 1 - qe))
        self.p_cad, self.p_core_t = p_cad, np.ascontiguousarray(core.swapaxes(1, 2))

    def step(self, dist: np.ndarray, month_old):
        """One month from ``month_old``: returns (new dist, mass that entered HF this month (n, C, 3))."""
        static, key = self.static_at(month_old)
        if self._key is None or not np.array_equal(key, self._key):
            self._prepare(static)
            self._key = key
        if not self.track:
            out = np.matmul(dist, self.matrix)  # (n, 1, 18)
            return self._assemble(out[..., :15].reshape(out.shape[:2] + (3, 5))), out[..., 15:]
        n = dist.shape[0]
        # new cardiac state, HF onsets and AF (the kernel), then CAD, then the (CKD, DM, HTN) core
        da = dist[:, :, None, :] * self.p_af  # (n, 32, AF', old cardiac)
        u = np.concatenate([np.matmul(da, self.to_cardiac), np.matmul(da, self.to_hf_onset)], axis=-1)
        u = u.reshape(n, 2, 2, 2, 2, 2, 2, 18).sum(2)  # k c d h a' g: old AF summed out
        w = np.einsum("nkcdhbg,nkdhce->nkdhbeg", u, self.p_cad).reshape(n, 8, 4 * 18)
        new = np.matmul(self.p_core_t, w).reshape(n, 2, 2, 2, 2, 2, 18)  # k' d' h' a' c' g
        new = new.transpose(0, 1, 4, 5, 2, 3, 6).reshape(n, 32, 18)  # back to (k, a, c, d, h)
        return self._assemble(new[..., :15].reshape(n, 32, 3, 5)), new[..., 15:]

    @staticmethod
    def _assemble(t):
        """(…, 3 mi', 5 [A0 A1 B0 B1 HF]) -> (…, 15) in the cardiac-state order."""
        out = np.empty(t.shape[:-2] + (N_CARDIAC,))
        out[..., :N_BEFORE_HF] = t[..., :4].reshape(t.shape[:-2] + (N_BEFORE_HF,))
        out[..., N_BEFORE_HF:] = t[..., 4]
        return out


def _batches(months, chunk):
    """Row groups sharing the month of the year (the age of all patients of a batch changes in the same month)."""
    key = np.asarray(months) % 12
    for k in np.unique(key):
        rows = np.flatnonzero(key == k)
        for a in range(0, len(rows), chunk):
            yield rows[a:a + chunk]


def _static_fn(synth, patients, months):
    def static_at(j):
        return synth.static(patients, months + j), (months + j) // 12
    return static_at


def hf_hazard(synth, patients, months) -> np.ndarray:
    """Closed form P(HF onset in month m+1 | state at month m) = 1 - exp(-lambda_HF(s_m))."""
    patients, months = np.asarray(patients), np.asarray(months)
    st = synth.state_at(patients, months)
    feats = state_features(st["chronic"], st["mi"], st["stage"], st["congestion"])
    p = event_probs(synth.static(patients, months), feats, hazard_arrays(synth.params))[:, EVENT_INDEX["HF"]]
    return np.where(st["stage"] == STAGE_HF, 0.0, p)


def survival_curve(synth, patients, months, n_steps: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """P(no HF through month m + j | state at month m), j = 0..n_steps: array (n, n_steps + 1), exact.

    Also returns P(HF onset exactly in month m + j | state at month m): (n, n_steps + 1), column 0 = 0.
    """
    patients, months = np.asarray(patients), np.asarray(months)
    st = synth.state_at(patients, months)
    if np.any(st["stage"] == STAGE_HF):
        raise ValueError("survival_curve needs states without HF.")
    surv = np.ones((len(patients), n_steps + 1))
    for rows in _batches(months, chunk):
        chain = Chain(synth.params, st["chronic"][rows], _static_fn(synth, patients[rows], months[rows]))
        start = cardiac_state_index(st["mi"][rows], st["stage"][rows], st["congestion"][rows])
        dist = chain.start(st["chronic"][rows], start)
        for j in range(1, n_steps + 1):
            dist, _ = chain.step(dist, j - 1)
            surv[rows, j] = dist[..., :N_BEFORE_HF].sum((1, 2))
    onset = np.zeros_like(surv)
    onset[:, 1:] = surv[:, :-1] - surv[:, 1:]
    return surv, onset


def hf_likelihood_ratio(synth, patients, last_months, pred_months: int = 0, control_free_months: int = 6) -> np.ndarray:
    """LR = P(onset at last + pred + 1 | s_last) / P(no HF through last + pred + 1 + control_free | s_last)."""
    steps_num = pred_months + 1
    surv, onset = survival_curve(synth, patients, last_months, steps_num + control_free_months)
    return onset[:, steps_num] / surv[:, steps_num + control_free_months]
