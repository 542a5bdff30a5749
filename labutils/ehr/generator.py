"""The simulation behind the synthetic EHR cohort (mechanisms and parameters: ``docs/ehr-generator.md``).

A patient lives on a monthly grid. Their latent state has five parts, each simulated here:

1. the **heart-failure chain** (``step``): chronic conditions, MI status, HF stage, a transient congestion state;
2. **care pathways** (``draw_pathways``): treatment lines that start with a diagnosis and escalate later;
3. **acute episodes** (``draw_episodes``): conditions that start, last some months, and end with a follow-up;
4. **acquired conditions** (``draw_acquired``): complications of long-standing disease, sequels of a work-up;
5. **visits** (``visit_rate``) and the **codes** of each visit (``emit``), by a noisy-OR over the state.

``generate_cohort`` runs them in that order from one ``numpy.random.Generator(seed)``; the parameters come from
``labutils.ehr.parameters.default_params``. The latent truth is kept (``SyntheticEHR.truth``) for the oracles.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .codebook import codebook
from .cohort import EHRCohort
from .parameters import (CHRONIC, DAYS_PER_MONTH, EVENTS, MI_NONE, MI_OLD, MI_RECENT, STAGE_A, STAGE_B, STAGE_HF,
                         STATE_FEATURES, STATIC_FEATURES, default_params)

NEVER = 10 ** 6  # the month of something that does not happen
ACQUIRED_NAMES = ("retinopathy", "neuropathy", "stroke", "asthma", "COPD")


# ---------------------------------------------------------------------------------------------- 1. the HF chain
def _coef_matrix(table: dict, rows: tuple, cols: tuple) -> np.ndarray:
    return np.array([[table[c].get(r, 0.0) for c in cols] for r in rows], dtype=np.float64)


def hazard_arrays(params: dict) -> dict:
    """Coefficient arrays of the monthly hazards: b0 (events,), static (4, events), state (9, events)."""
    hz = params["hazards"]
    return {"b0": np.array([hz[e]["b0"] for e in EVENTS]),
            "static": _coef_matrix(hz, STATIC_FEATURES, EVENTS),
            "state": _coef_matrix(hz, STATE_FEATURES, EVENTS)}


def state_features(chronic, mi, stage, congestion) -> np.ndarray:
    """(..., 9) float features HTN, DM, CAD, AF, CKD, B, MIr, MIo, E of chain states (any leading shape)."""
    chronic = np.asarray(chronic)
    shape = np.broadcast_shapes(chronic.shape[:-1], np.shape(mi), np.shape(stage), np.shape(congestion))
    cols = [np.asarray(stage) == STAGE_B, np.asarray(mi) == MI_RECENT, np.asarray(mi) == MI_OLD,
            np.asarray(congestion) == 1]
    return np.concatenate([np.broadcast_to(chronic, shape + (5,)).astype(np.float64),
                           np.stack([np.broadcast_to(c, shape) for c in cols], axis=-1)], axis=-1)


def static_features(age0, male, obese, lipid, month) -> np.ndarray:
    """(n, 4) static features at ``month``: age10 = (age - 60) / 10, the age growing by a year every 12 months."""
    age = np.asarray(age0, dtype=np.float64) + np.floor_divide(np.asarray(month), 12)
    return np.stack([(age - 60.0) / 10.0, np.asarray(male, float), np.asarray(obese, float),
                     np.asarray(lipid, float)], axis=-1)


def event_probs(static: np.ndarray, state: np.ndarray, coefs: dict) -> np.ndarray:
    """Monthly event probabilities 1 - exp(-lambda), shape broadcast(static[..., :], state[..., :]) x events."""
    eta = coefs["b0"] + static @ coefs["static"] + state @ coefs["state"]
    return -np.expm1(-np.exp(eta))


def step(chronic, mi, stage, congestion, static, params, rng, coefs=None):
    """One month of the HF chain for a batch of patients; returns new (chronic, mi, stage, congestion, HF onset).

    Every component is drawn independently given the previous state; an HF onset ends the congestion state.
    """
    coefs = coefs or hazard_arrays(params)
    p = event_probs(static, state_features(chronic, mi, stage, congestion), coefs)
    u = rng.random((len(stage), len(EVENTS) + 2))
    new_chronic = chronic | (u[:, :5] < p[:, :5]).astype(chronic.dtype)
    p_recover = -np.expm1(-params["mi_recovery_rate"])
    new_mi = np.where(mi == MI_RECENT, np.where(u[:, 5] < p_recover, MI_OLD, MI_RECENT),
                      np.where(u[:, 5] < p[:, 5], MI_RECENT, mi)).astype(mi.dtype)
    onset = (stage != STAGE_HF) & (u[:, 8] < p[:, 8])
    to_b = (stage == STAGE_A) & ~onset & (u[:, 7] < p[:, 7])
    new_stage = np.where(onset, STAGE_HF, np.where(to_b, STAGE_B, stage)).astype(stage.dtype)
    p_end = -np.expm1(-params["congestion_end_rate"])
    new_congestion = np.where(congestion == 1, u[:, 9] >= p_end, u[:, 6] < p[:, 6]) & (new_stage != STAGE_HF)
    return new_chronic, new_mi, new_stage, new_congestion.astype(congestion.dtype), onset


def _logistic(table: dict, feats: dict, n: int) -> np.ndarray:
    eta = np.full(n, table["b0"], dtype=np.float64)
    for k, coef in table.items():
        if k != "b0":
            eta += coef * feats[k]
    return 1.0 / (1.0 + np.exp(-eta))


def draw_baseline(n: int, params: dict, rng) -> dict:
    """Baseline covariates and the month-0 chain state."""
    lo, hi = params["age0"]
    age0 = rng.uniform(lo, hi, n)
    male, obese, lipid = (rng.random((3, n)) < np.array([[params["p_male"]], [params["p_obese"]],
                                                        [params["p_lipid"]]])).astype(np.int8)
    feats = {"age10": (age0 - 60) / 10, "male": male, "obese": obese, "lipid": lipid}
    chronic = np.zeros((n, 5), np.int8)
    for k, name in enumerate(CHRONIC):
        chronic[:, k] = rng.random(n) < _logistic(params["baseline"][name], feats, n)
        feats[name] = chronic[:, k]
    mi = np.where(chronic[:, 2].astype(bool) & (rng.random(n) < params["p_mi_old_if_cad"]), MI_OLD, MI_NONE)
    stage = (rng.random(n) < _logistic(params["baseline"]["B"], feats, n)).astype(np.int8)
    return {"age0": age0, "male": male, "obese": obese, "lipid": lipid, "chronic0": chronic,
            "mi0": mi.astype(np.int8), "stage0": stage}


def run_chain(base: dict, params: dict, rng) -> dict:
    """The HF chain over all months: chronic (n, M, 5), mi, stage, congestion (n, M) and hf_onset_month (n,)."""
    M, n = params["months"], len(base["age0"])
    coefs = hazard_arrays(params)
    chronic, mi, stage = base["chronic0"].copy(), base["mi0"].copy(), base["stage0"].copy()
    congestion = np.zeros(n, np.int8)
    out = {"chronic": np.zeros((n, M, 5), np.int8), "mi": np.zeros((n, M), np.int8),
           "stage": np.zeros((n, M), np.int8), "congestion": np.zeros((n, M), np.int8)}
    hf_onset = np.full(n, -1, np.int64)
    for m in range(M):
        if m > 0:
            static = static_features(base["age0"], base["male"], base["obese"], base["lipid"], m - 1)
            chronic, mi, stage, congestion, onset = step(chronic, mi, stage, congestion, static, params, rng, coefs)
            hf_onset[onset] = m
        out["chronic"][:, m], out["mi"][:, m], out["stage"][:, m], out["congestion"][:, m] = \
            chronic, mi, stage, congestion
    out["hf_onset_month"] = hf_onset
    return out


def chronic_onset_months(chronic: np.ndarray, params: dict, rng) -> np.ndarray:
    """(n, 5) month each chronic condition began: negative (U(lo, hi) months before) if present at month 0."""
    n, M, _ = chronic.shape
    ever = chronic[:, -1].astype(bool)
    first = np.where(ever, np.argmax(chronic, axis=1), NEVER)
    lo, hi = params["prevalent_duration_months"]
    before = -rng.integers(lo, hi + 1, size=(n, 5))
    return np.where(chronic[:, 0] == 1, before, first).astype(np.int64)


def _geometric_after(first_month, hazard, rng) -> np.ndarray:
    """The first month >= first_month in which an event of monthly probability 1 - exp(-hazard) happens."""
    p = np.clip(-np.expm1(-np.asarray(hazard, dtype=np.float64)), 1e-12, 1.0)
    return np.asarray(first_month, dtype=np.int64) + rng.geometric(np.broadcast_to(p, np.shape(first_month))) - 1


# ---------------------------------------------------------------------------------------------- 2. care pathways
def draw_pathways(onset: np.ndarray, params: dict, rng) -> dict:
    """Escalation months of the DM and HTN treatment lines (NEVER without the disease) and AF anticoagulation."""
    M, order = params["months"], params["order_effects"]
    out = {}
    for name, column in (("DM", 1), ("HTN", 0)):
        spec = params["pathways"][name]
        month = _geometric_after(onset[:, column] + spec["delay"], spec["hazard"], rng)
        if not order:  # the second line from the diagnosis on, in those who would reach it by the end
            month = np.where(month < M, onset[:, column], NEVER)
        out[f"{name.lower()}_escalation"] = np.where(onset[:, column] < NEVER, month, NEVER)
    out["anticoagulated"] = rng.random(len(onset)) < params["pathways"]["AF"]["p_anticoagulant"]
    return out


# ---------------------------------------------------------------------------------------------- 3. acute episodes
def episode_hazards(n: int, params: dict, rng) -> np.ndarray:
    """(n, kinds) monthly onset hazards: a patient's overall rate (gamma) times their propensities (Dirichlet)."""
    spec = params["episode_onset"]
    weights = np.array([e["weight"] for e in params["episodes"]])
    weights = weights / weights.sum()
    rate = rng.gamma(spec["rate_shape"], spec["rate"] / spec["rate_shape"], n)
    g = rng.standard_gamma(spec["concentration"] * weights, size=(n, len(weights)))
    g[g.sum(1) == 0, 0] = 1.0
    return (rate[:, None] * g / g.sum(1, keepdims=True)).astype(np.float64)


def draw_episodes(hazard: np.ndarray, params: dict, rng) -> dict:
    """Every episode: arrays patient, kind, start, end (the last active month), sorted by patient then start.

    Per (patient, kind) a three-state chain: inactive -> active with p = 1 - exp(-hazard) a month; an active
    episode ends with p = 1 / mean_months a month (a geometric duration); the month after it ends is its
    follow-up month (if ``follow_up``), from which a new episode may start the month after.
    """
    M = params["months"]
    n, R = hazard.shape
    p_start = np.clip(-np.expm1(-hazard.ravel()), 1e-12, 1.0)
    p_end = 1.0 / np.array([max(e["mean_months"], 1.0) for e in params["episodes"]])
    rest = 1 if params["episode_coding"]["follow_up"] else 0
    pair = np.arange(n * R)
    start = rng.geometric(p_start) - 1
    keep = start < M
    pair, start = pair[keep], start[keep]
    found = []
    while len(pair):
        end = start + rng.geometric(p_end[pair % R]) - 1
        found.append((pair, start, end))
        start = end + rest + rng.geometric(p_start[pair])
        keep = start < M
        pair, start = pair[keep], start[keep]
    if found:
        pair, start, end = (np.concatenate(x) for x in zip(*found))
    else:
        pair = start = end = np.zeros(0, np.int64)
    order = np.lexsort((start, pair // R))
    return {"patient": (pair // R)[order], "kind": (pair % R)[order], "start": start[order],
            "end": np.minimum(end[order], NEVER)}


def episode_status(truth: dict, patients, months):
    """Episodes active, or in their follow-up month, at (patient, month) rows: (row, kind, is_follow_up).

    Each episode finds the rows of its patient within its months by a binary search over the sorted rows.
    """
    patients, months = np.asarray(patients, dtype=np.int64), np.asarray(months, dtype=np.int64)
    ep, width = truth["episodes"], truth["stage"].shape[1] + 2  # months 0..M-1, then room for a follow-up month
    key = patients * width + months
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    last = np.minimum(ep["end"] + int(truth["follow_up"]), width - 1)
    lo = np.searchsorted(sorted_key, ep["patient"] * width + ep["start"], side="left")
    hi = np.searchsorted(sorted_key, ep["patient"] * width + last, side="right")
    counts = hi - lo
    episode = np.repeat(np.arange(len(counts)), counts)
    row = order[np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())]
    follow = truth["follow_up"] & (months[row] == ep["end"][episode] + 1)
    return row, ep["kind"][episode], follow


# ---------------------------------------------------------------------------------------------- 4. acquired
def draw_acquired(onset: np.ndarray, anticoagulated: np.ndarray, episodes: dict, params: dict, rng) -> np.ndarray:
    """(n, 5) onset months of retinopathy, neuropathy, stroke, asthma, COPD (NEVER if not acquired)."""
    M, order, n = params["months"], params["order_effects"], len(onset)
    spec = params["acquired"]
    out = np.full((n, len(ACQUIRED_NAMES)), NEVER, np.int64)
    parent_onset = np.full((n, len(ACQUIRED_NAMES)), NEVER, np.int64)
    for j, name in enumerate(("retinopathy", "neuropathy", "stroke")):
        parent, delay, hazard = spec[name]["after"]
        start = onset[:, CHRONIC.index(parent)]
        if name == "stroke":
            hazard = hazard * np.where(anticoagulated, spec["stroke"]["anticoagulant_factor"], 1.0)
        month = _geometric_after(start + delay, hazard, rng)
        out[:, j] = np.where(start < NEVER, month, NEVER)
        parent_onset[:, j] = start
    kinds = {e["group"]: r for r, e in enumerate(params["episodes"])}
    u = rng.random(len(episodes["kind"]))
    low = 0.0
    for j, name in ((3, "asthma"), (4, "COPD")):  # the outcomes of one work-up exclude each other
        group, p = spec[name]["from_episode"]
        hit = (episodes["kind"] == kinds[group]) & (u >= low) & (u < low + p)
        low += p
        np.minimum.at(out[:, j], episodes["patient"][hit], episodes["end"][hit] + 1)
        parent_onset[:, j] = -1
    if not order:  # present from the parent's onset (or from the start) in those who acquire it by the end
        out = np.where(out < M, parent_onset, NEVER)
    return out


# ---------------------------------------------------------------------------------------------- 5. visits, codes
def cardiac_visit_rate(chronic, mi, stage, congestion, params) -> np.ndarray:
    """The part of the monthly visit rate that comes from the HF chain: rate * exp(linear terms)."""
    v = params["visit"]
    log_rho = (np.log(v["rate"]) + v["chronic"] * np.asarray(chronic).sum(-1) + v["MIr"] * (np.asarray(mi) == MI_RECENT)
               + v["B"] * (np.asarray(stage) == STAGE_B) + v["E"] * (np.asarray(congestion) == 1)
               + v["HF"] * (np.asarray(stage) == STAGE_HF))
    return np.exp(log_rho)


def new_stroke(truth: dict, patients, months, params) -> np.ndarray:
    """True in the first ``new_months`` months after a stroke."""
    onset = truth["acquired_onset"][np.asarray(patients), ACQUIRED_NAMES.index("stroke")]
    m = np.asarray(months)
    return (onset <= m) & (m < onset + params["acquired"]["stroke"]["new_months"])


def visit_rate(truth: dict, params: dict) -> np.ndarray:
    """(n, M) monthly visit rate: the chain's part + new stroke + active episodes + follow-up months."""
    n, M = truth["stage"].shape
    rho = cardiac_visit_rate(truth["chronic"], truth["mi"], truth["stage"], truth["congestion"], params)
    months = np.arange(M)
    rho = rho + params["visit"]["stroke new"] * new_stroke(truth, np.arange(n)[:, None], months[None, :], params)
    ep, coding = truth["episodes"], params["episode_coding"]
    first, last = ep["start"], np.minimum(ep["end"], M - 1)
    length = last - first + 1
    patient = np.repeat(ep["patient"], length)
    month = np.repeat(first - np.cumsum(length) + length, length) + np.arange(length.sum())
    np.add.at(rho, (patient, month), coding["visit_boost"])
    follow = ep["end"] + 1 < M
    if truth["follow_up"]:
        np.add.at(rho, (ep["patient"][follow], ep["end"][follow] + 1), coding["follow_up_boost"])
    return rho


def parent_features(truth: dict, patients, months, params: dict) -> np.ndarray:
    """(n, len(PARENTS)) 0/1 emission parents of (patient, month) rows."""
    p, m = np.asarray(patients), np.asarray(months)
    c = truth["chronic"][p, m].astype(bool)
    mi, stage = truth["mi"][p, m], truth["stage"][p, m]
    htn, dm, ckd = c[:, 0], c[:, 1], c[:, 4]
    hf, b = stage == STAGE_HF, stage == STAGE_B
    onset = truth["chronic_onset"][p]
    dm_line2 = dm & (m >= truth["dm_escalation"][p])
    htn_line2 = htn & (m >= truth["htn_escalation"][p])
    acquired = truth["acquired_onset"][p] <= m[:, None]
    stroke_new = new_stroke(truth, p, m, params)
    stroke = acquired[:, ACQUIRED_NAMES.index("stroke")]
    cols = [htn, dm, c[:, 2], c[:, 3], ckd, truth["obese"][p].astype(bool), truth["lipid"][p].astype(bool),
            mi == MI_RECENT, mi == MI_OLD, b, truth["congestion"][p, m] == 1, hf, htn & hf, htn & b, dm & ~ckd, dm & ckd,
            dm & (m < onset[:, 1] + params["pathways"]["DM"]["new_months"]), dm & ~dm_line2, dm_line2,
            htn & ~htn_line2, htn_line2, c[:, 3] & truth["anticoagulated"][p],
            acquired[:, 0], acquired[:, 1], stroke_new, stroke & ~stroke_new, acquired[:, 3], acquired[:, 4]]
    return np.stack(cols, axis=-1).astype(np.float64)


def core_log_q(truth: dict, patients, months, params: dict, book) -> np.ndarray:
    """(n, n_core) log P(core code absent | its parents and leak) of (patient, month) rows."""
    X = parent_features(truth, patients, months, params)
    C = book.n_core  # only the core codes (the first columns of the code book) have parents and leaks
    with np.errstate(divide="ignore"):
        return X @ np.log1p(-np.minimum(book.parent_p[:, :C], 1 - 1e-12)) + np.log1p(-book.leak[:C])


def emit(truth: dict, pid: np.ndarray, month: np.ndarray, params: dict, rng) -> list:
    """Codes of every visit (pid, month) as lists of full code strings: diagnoses, procedures, drugs."""
    book = codebook(params)
    V, K, C = len(pid), len(book.names), book.n_core
    v_core, k_core = np.nonzero(rng.random((V, C)) < -np.expm1(core_log_q(truth, pid, month, params, book)))
    v_hf = np.flatnonzero(truth["hf_onset_month"][pid] == month)  # the diagnosis visit always carries an HF code
    row, kind, follow = episode_status(truth, pid, month)
    a_row, a_code, a_p = book.episode_entries(kind[~follow])
    a_visit = row[~follow][a_row]
    hit = rng.random(len(a_p)) < a_p
    f_visit = row[follow][rng.random(follow.sum()) < params["episode_coding"]["p_follow_up_code"]]
    inc = params["incidental"]
    i_visit = np.repeat(np.arange(V), rng.binomial(inc["n_max"], inc["p"], V))
    i_kind = np.minimum(np.searchsorted(np.cumsum(book.incidental_p), rng.random(len(i_visit))), len(book.incidental_p) - 1)
    key = np.concatenate([v_core * K + k_core, v_hf * K + book.hf_code, a_visit[hit] * K + a_code[hit],
                          f_visit * K + book.follow_up_code, i_visit * K + book.incidental_code[i_kind]])
    key = np.sort(key)
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    vi, ki = key // K, key % K
    variant = np.zeros(len(vi), np.int8)  # CKD changes 250's sub-codes, HF changes 402's
    variant[truth["chronic"][pid[vi], month[vi], 4] == 1] = 1
    variant[(truth["stage"][pid[vi], month[vi]] == STAGE_HF) & (ki != book.index["D_250"])] = 2
    full = book.draw_subcodes(ki, variant, rng)
    order = np.lexsort((ki, book.kind[ki], vi))  # like a claim: diagnoses, procedures, drugs
    full, vi = full[order].tolist(), vi[order]
    bounds = np.searchsorted(vi, np.arange(V + 1)).tolist()
    return [full[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


# ---------------------------------------------------------------------------------------------- the cohort
@dataclass(eq=False)
class SyntheticEHR:
    """A generated cohort: the records (``cohort``) and the latent truth that produced them."""

    cohort: EHRCohort
    truth: dict
    hf_onset_month: np.ndarray
    params: dict
    seed: int
    start_date: np.datetime64

    @property
    def n_patients(self) -> int:
        return len(self.hf_onset_month)

    @property
    def months(self) -> int:
        return self.params["months"]

    def month_start(self, month) -> np.ndarray:
        """Date (datetime64[D]) on which a month of the grid begins."""
        return self.start_date + np.round(DAYS_PER_MONTH * np.asarray(month)).astype("timedelta64[D]")

    def static(self, patients, month) -> np.ndarray:
        t = self.truth
        return static_features(t["age0"][patients], t["male"][patients], t["obese"][patients],
                               t["lipid"][patients], month)

    def state_at(self, patients, months) -> dict:
        """HF-chain state (chronic, mi, stage, congestion) of patients at months (arrays of equal length)."""
        t = self.truth
        return {k: t[k][patients, months] for k in ("chronic", "mi", "stage", "congestion")}

    def summary(self) -> dict:
        """Calibration figures: codes/visit, gap, 3-digit groups, 5-year HF incidence, prevalences, episodes."""
        s = self.cohort.summary()
        t, m5 = self.truth, min(60, self.months - 1)
        codes = [c for visit in self.cohort.visits["codes"] for c in visit]
        groups = {c.split(".")[0] for c in codes if c.startswith("D_")}
        s.update({"dx_groups": len(groups),
                  "dx_per_visit": sum(c.startswith("D_") for c in codes) / max(len(self.cohort.visits), 1),
                  "hf_incidence_5y": float(np.mean((self.hf_onset_month >= 0) & (self.hf_onset_month <= m5))),
                  "episodes_per_patient": len(t["episodes"]["kind"]) / self.n_patients,
                  "congestion_ever": float(t["congestion"].any(1).mean())})
        for k, name in enumerate(CHRONIC):
            s[f"{name}_0"], s[f"{name}_5y"] = float(t["chronic"][:, 0, k].mean()), float(t["chronic"][:, m5, k].mean())
        s["B_0"], s["B_5y"] = float((t["stage"][:, 0] >= 1).mean()), float((t["stage"][:, m5] >= 1).mean())
        for j, name in enumerate(ACQUIRED_NAMES):
            s[f"{name}_5y"] = float((t["acquired_onset"][:, j] <= m5).mean())
        return s


def generate_cohort(n_patients: int, seed: int = 0, order_effects: bool = True, hospital: str = "A",
                    months: int = 72, params: dict | None = None) -> SyntheticEHR:
    """Simulate ``n_patients`` over ``months`` months; deterministic given the arguments.

    Returns a ``SyntheticEHR`` with ``.cohort`` (EHRCohort; visits carry an extra ``month`` column),
    ``.truth`` (the latent state: the chain's monthly arrays, covariates, onsets, episodes, visits) and
    ``.hf_onset_month`` (-1: none).
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}.")
    params = params if params is not None else default_params(order_effects, hospital, months)
    M, N = params["months"], int(n_patients)
    rng = np.random.default_rng(seed)

    base = draw_baseline(N, params, rng)
    truth = {k: base[k] for k in ("age0", "male", "obese", "lipid")}
    truth.update(run_chain(base, params, rng))
    truth["chronic_onset"] = chronic_onset_months(truth["chronic"], params, rng)
    truth.update(draw_pathways(truth["chronic_onset"], params, rng))
    truth["episode_hazard"] = episode_hazards(N, params, rng)
    truth["episodes"] = draw_episodes(truth["episode_hazard"], params, rng)
    truth["follow_up"] = bool(params["episode_coding"]["follow_up"])
    truth["acquired_onset"] = draw_acquired(truth["chronic_onset"], truth["anticoagulated"], truth["episodes"],
                                            params, rng)

    visit = rng.random((N, M)) < -np.expm1(-visit_rate(truth, params))
    onset = truth["hf_onset_month"]
    visit[np.flatnonzero(onset >= 0), onset[onset >= 0]] = True  # the HF diagnosis visit
    day_in_month = rng.integers(0, 30, (N, M))
    month_day = np.round(DAYS_PER_MONTH * np.arange(M)).astype(np.int64)
    truth["visit"] = visit
    truth["visit_day"] = np.where(visit, month_day + day_in_month, -1)

    pid, month = np.nonzero(visit)  # sorted by patient, then month
    codes = emit(truth, pid, month, params, rng)
    start = np.datetime64(params["start_date"], "D")
    patients = pd.DataFrame({"patient_id": np.arange(N), "sex": np.where(base["male"] == 1, "M", "F"),
                             "birth_date": (start - np.round(base["age0"] * 365.25).astype("timedelta64[D]")).astype("datetime64[ns]")})
    visits = pd.DataFrame({"patient_id": pid, "visit_id": np.arange(len(pid)),
                           "time": (start + truth["visit_day"][pid, month].astype("timedelta64[D]")).astype("datetime64[ns]"),
                           "codes": codes, "month": month})
    cohort = EHRCohort(patients, visits, name=f"synthetic hospital {params['hospital']} (seed {seed}, n={N})")
    return SyntheticEHR(cohort, truth, onset, params, seed, start)
