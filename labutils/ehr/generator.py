"""A synthetic EHR cohort whose ground truth is known (described in docs/ehr-data.md, section 4).

Every patient follows a monthly Markov chain of latent clinical states:

- five chronic conditions (hypertension, diabetes, coronary artery disease, atrial fibrillation, chronic kidney
  disease), absorbing;
- myocardial infarction status: none / recent (mean 3 months) / old;
- heart-failure stage: A (at risk) / B (structural disease) / HF (absorbing);
- a transient congestion episode E (mean 2 months).

Each month the patient visits with a probability that grows with illness; the month of HF onset always has a visit
(the diagnosis). A visit emits codes by a noisy-OR over the active conditions (``p_c(s)``), plus 0-2 acute "visit
reasons" drawn from the patient's own propensities over ~350 episodic conditions (a Zipf tail). Diagnoses are full
dotted ICD-9 codes (``D_428.0``) drawn from per-group sub-code distributions, so 3-digit grouping loses nothing.

``order_effects=False`` switches off the mechanisms that make the ORDER of visits informative: the
congestion episode no longer raises the HF hazard, shows no codes and brings no visits; a recent MI raises the HF
hazard no more than an old one; acute reasons no longer co-emit the HF symptom codes 786/782/780. The HF intercept
is re-calibrated so that HF incidence stays about the same.

Everything is vectorised over patients and driven by one ``numpy.random.Generator(seed)``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cohort import EHRCohort

CHRONIC = ("HTN", "DM", "CAD", "AF", "CKD")
STATIC_FEATURES = ("age10", "male", "obese", "lipid")
STATE_FEATURES = ("HTN", "DM", "CAD", "AF", "CKD", "B", "MIr", "MIo", "E")
EVENTS = ("HTN", "DM", "CAD", "AF", "CKD", "MI", "E", "AB", "HF")  # monthly onset hazards
MI_NONE, MI_RECENT, MI_OLD = 0, 1, 2
STAGE_A, STAGE_B, STAGE_HF = 0, 1, 2
DAYS_PER_MONTH = 30.44
START_DATE = "2010-01-01"

# Emission parents: features of a visit's latent state that can cause a code.
PARENTS = ("HTN", "DM", "CAD", "AF", "CKD", "obese", "lipid", "MIr", "MIo", "B", "E", "HF",
           "HTN&HF", "HTN&B", "DM&~CKD", "DM&CKD")

# ---------------------------------------------------------------------------------------------- parameters
_HAZARDS = {  # log monthly hazard = b0 + sum coef * feature
    "HTN": {"b0": -5.6, "age10": .4, "obese": .6, "DM": .4, "CKD": .4},
    "DM": {"b0": -6.9, "age10": .2, "obese": 1.0, "HTN": .3},
    "CAD": {"b0": -7.0, "age10": .5, "male": .4, "lipid": .6, "HTN": .5, "DM": .6, "CKD": .4},
    "AF": {"b0": -7.5, "age10": .8, "obese": .3, "HTN": .5, "B": .7, "MIr": .7},
    "CKD": {"b0": -7.0, "age10": .6, "HTN": .6, "DM": .8},
    "MI": {"b0": -8.0, "age10": .3, "male": .3, "DM": .3, "CAD": 2.3, "MIo": .5},
    "E": {"b0": -5.6, "age10": .3, "HTN": .3, "DM": .2, "CAD": .3, "AF": .6, "CKD": .4, "B": 2.5},
    "AB": {"b0": -6.6, "age10": .5, "obese": .4, "HTN": .6, "DM": .5, "CAD": .6, "AF": .7, "CKD": .5,
           "MIr": 1.8, "MIo": .5},
    "HF": {"b0": -9.4, "age10": .5, "male": .2, "obese": .3, "HTN": .3, "DM": .4, "CAD": .4, "AF": .8, "CKD": .6,
           "B": 1.8, "MIr": 2.8, "MIo": .4, "E": 3.2},
}
_BASELINE = {  # logistic prevalence at month 0
    "HTN": {"b0": -.5, "age10": .6, "obese": .6},
    "DM": {"b0": -2.0, "age10": .3, "obese": .9},
    "CAD": {"b0": -2.6, "age10": .6, "male": .5, "HTN": .5, "DM": .5, "lipid": .4},
    "AF": {"b0": -3.5, "age10": .8, "HTN": .4},
    "CKD": {"b0": -3.0, "age10": .6, "DM": .7, "HTN": .6},
    "B": {"b0": -3.0, "age10": .5, "HTN": .5, "CAD": .5, "AF": .5},
}

# Core codes: parents with their probabilities, a leak, and (for diagnoses) the sub-code distribution.
_CORE = {
    "D_401": ({"HTN": .75}, .005, {"401.9": .85, "401.1": .10, "401.0": .05}),
    "D_250": ({"DM": .75}, .003, {"250.00": .6, "250.02": .2, "250.01": .2}),  # 250.40 when CKD (below)
    "D_414": ({"CAD": .55}, .005, {"414.01": .8, "414.00": .2}),
    "D_427": ({"AF": .65}, .005, {"427.31": 1.0}),
    "D_585": ({"CKD": .5}, .002, {"585.3": .5, "585.4": .2, "585.9": .3}),
    "D_278": ({"obese": .25}, .005, {"278.00": .7, "278.01": .3}),
    "D_272": ({"lipid": .4}, .01, {"272.4": .6, "272.0": .4}),
    "D_410": ({"MIr": .85}, 0.0, {"410.71": .5, "410.91": .3, "410.41": .2}),
    "D_412": ({"MIo": .2}, 0.0, {"412": 1.0}),
    "D_786": ({"B": .12, "E": .6, "HF": .5}, .01, {"786.05": .5, "786.2": .3, "786.50": .2}),
    "D_782": ({"B": .10, "E": .5, "HF": .4}, .01, {"782.3": .8, "782.1": .2}),
    "D_780": ({"B": .08, "E": .3, "HF": .3}, .02, {"780.79": .6, "780.4": .4}),
    "D_428": ({"HF": .9}, 0.0, {"428.0": .6, "428.22": .1, "428.32": .1, "428.9": .2}),
    "D_402": ({"HTN&HF": .3, "HTN&B": .1}, 0.0, {"402.90": .7, "402.10": .3}),  # 402.91 when HF (below)
    "RX_ACEI": ({"HTN": .4, "DM": .15, "CKD": .15, "HF": .6, "B": .1}, 0.0, None),
    "RX_THIAZ": ({"HTN": .2}, 0.0, None),
    "RX_CCB": ({"HTN": .15}, 0.0, None),
    "RX_BB": ({"HTN": .1, "CAD": .3, "AF": .35, "MIr": .8, "MIo": .4, "HF": .5}, 0.0, None),
    "RX_LOOP": ({"B": .05, "E": .5, "HF": .8, "CKD": .1}, 0.0, None),
    "RX_METF": ({"DM&~CKD": .5, "DM&CKD": .25}, 0.0, None),
    "RX_INSUL": ({"DM&~CKD": .12, "DM&CKD": .3}, 0.0, None),
    "RX_STATIN": ({"CAD": .5, "DM": .25, "lipid": .35, "MIo": .7}, 0.0, None),
    "RX_ASA": ({"CAD": .35, "MIr": .9, "MIo": .5}, .01, None),
    "RX_NITRATE": ({"CAD": .1, "MIr": .4}, 0.0, None),
    "RX_ANTICOAG": ({"AF": .5}, 0.0, None),
    "RX_DIGOX": ({"AF": .08, "HF": .2}, 0.0, None),
    "PX_93000": ({"AF": .3, "CAD": .12, "MIr": .8, "B": .08}, .04, None),
    "PX_93306": ({"B": .12, "E": .2, "AF": .1, "MIr": .6, "HF": .4}, .005, None),
    "PX_83036": ({"DM": .45}, .01, None),
    "PX_80061": ({"CAD": .15, "DM": .15, "lipid": .15}, .04, None),
    "PX_80048": ({"CKD": .4, "DM": .1, "HF": .4, "HTN": .05}, .05, None),
    "PX_93458": ({"MIr": .4, "CAD": .02}, 0.0, None),
    "PX_83880": ({"B": .05, "E": .3, "HF": .5}, .003, None),
}
_SUB_CKD_250 = {"250.40": .5, "250.00": .3, "250.02": .1, "250.01": .1}
_SUB_HF_402 = {"402.91": 1.0}

# Named acute visit reasons: (group, weight, sub-codes, co-emitted codes). 786/782/780 co-emission = explaining away.
_ACUTE = [
    ("465", .15, {"465.9": 1.0}, {"D_786": .5}),
    ("466", .07, {"466.0": 1.0}, {"D_786": .8, "RX_ABX": .7}),
    ("486", .03, {"486": 1.0}, {"D_786": .8, "D_780": .3, "PX_71046": .8, "RX_ABX": .9}),
    ("682", .03, {"682.6": .6, "682.7": .4}, {"D_782": .7, "RX_ABX": .8}),
    ("493", .03, {"493.90": .7, "493.92": .3}, {"D_786": .5, "RX_SABA": .6}),
    ("496", .03, {"496": 1.0}, {"D_786": .5, "RX_SABA": .5}),
    ("599", .05, {"599.0": 1.0}, {"RX_ABX": .7}),
    ("724", .05, {"724.2": .7, "724.5": .3}, {"RX_NSAID": .5}),
    ("719", .05, {"719.46": .6, "719.41": .4}, {"RX_NSAID": .5}),
    ("692", .03, {"692.9": 1.0}, {}),
    ("530", .04, {"530.81": 1.0}, {"RX_PPI": .6}),
    ("787", .03, {"787.01": .5, "787.91": .5}, {}),
    ("784", .03, {"784.0": 1.0}, {}),
    ("V70", .06, {"V70.0": 1.0}, {}),
    ("V04", .04, {"V04.81": 1.0}, {"PX_90658": .8}),
    ("311", .03, {"311": 1.0}, {"RX_SSRI": .5}),
    ("300", .03, {"300.00": 1.0}, {}),
    ("477", .03, {"477.9": 1.0}, {}),
    ("366", .02, {"366.9": 1.0}, {}),
    ("729", .03, {"729.5": .6, "729.1": .4}, {}),
]
_SYMPTOM_CODES = ("D_786", "D_782", "D_780")
_N_TAIL, _TAIL_MASS, _TAIL_ZIPF = 330, 0.5, 1.0


def _tail_groups() -> list:
    """The Zipf tail of acute reasons: fixed (seed-independent) 3-digit groups with 1-4 dotted sub-codes."""
    rng = np.random.default_rng(2017)  # structure only: the same names for every cohort seed and hospital
    used = {g[2:] for g in _CORE if g.startswith("D_")} | {a[0] for a in _ACUTE} | {"398", "404"}
    candidates = [f"{i:03d}" for i in list(range(1, 390)) + list(range(460, 780)) + list(range(790, 1000))]
    candidates += [f"V{i:02d}" for i in range(1, 90)]
    candidates = [c for c in candidates if c not in used]
    chosen = rng.choice(candidates, size=_N_TAIL, replace=False)
    weights = 1.0 / np.arange(1, _N_TAIL + 1) ** _TAIL_ZIPF
    weights = _TAIL_MASS * weights / weights.sum()
    tail = []
    for group, w in zip(chosen, weights):
        n_sub = int(rng.integers(1, 5))
        digits = rng.choice(10, size=n_sub, replace=False)
        probs = rng.dirichlet(np.full(n_sub, 2.0))
        tail.append((str(group), float(w), {f"{group}.{d}": float(p) for d, p in zip(digits, probs)}, {}))
    return tail


def default_params(order_effects: bool = True, hospital: str = "A", months: int = 72) -> dict:
    """All generator parameters as a plain (JSON-able) dict; ``generate_cohort(..., params=...)`` accepts edits."""
    hazards = copy.deepcopy(_HAZARDS)
    # Calibration: drugs and procedures at 0.5x the probabilities of the _CORE table bring a visit to ~3.5 codes
    # (Choi et al. 2016: 3.22); at full strength a visit had about 6.3.
    core = {c: {"parents": {f: (p if c.startswith("D_") else RX_PX_SCALE * p) for f, p in parents.items()},
                "leak": leak, "sub": (dict(sub) if sub else None)}
            for c, (parents, leak, sub) in _CORE.items()}
    acute = [{"group": g, "weight": w, "sub": dict(sub), "co": dict(co)} for g, w, sub, co in _ACUTE + _tail_groups()]
    visit = {"rate": .28, "chronic": .15, "MIr": 1.5, "B": .3, "E": 1.2, "HF": .9}
    if not order_effects:
        hf = hazards["HF"]
        hf["E"] = 0.0
        hf["MIr"] = hf["MIo"]
        hf["b0"] += HF_B0_SHIFT_OFF  # keeps HF incidence close to the order_effects=True value
        for spec in core.values():
            spec["parents"].pop("E", None)
        visit["E"] = 0.0
        for reason in acute:
            for code in _SYMPTOM_CODES:
                reason["co"].pop(code, None)
    if hospital == "B":  # transfer learning: another coding culture, same diseases and code names
        visit["rate"] *= 1.3
        for name, spec in core.items():
            spec["leak"] = min(2.0 * spec["leak"], 0.5)
            if name.startswith("D_"):
                spec["parents"] = {f: .7 * p for f, p in spec["parents"].items()}
    elif hospital != "A":
        raise ValueError(f"hospital must be 'A' or 'B', got {hospital!r}.")
    return {
        "months": int(months), "order_effects": bool(order_effects), "hospital": hospital,
        "start_date": START_DATE, "age0": [40.0, 75.0], "p_male": .5, "p_obese": .3, "p_lipid": .4,
        "baseline": copy.deepcopy(_BASELINE), "p_mi_old_if_cad": .25,
        "hazards": hazards, "mi_recovery_rate": 1 / 3, "episode_end_rate": 1 / 2,
        "visit": visit, "core": core,
        "acute": {"reasons": acute, "n_max": 2, "p": .3, "concentration": 5.0},
        "sub_if_ckd": {"D_250": dict(_SUB_CKD_250)}, "sub_if_hf": {"D_402": dict(_SUB_HF_402)},
    }


RX_PX_SCALE = 0.5
HF_B0_SHIFT_OFF = 1.35  # measured: with it, 5-year HF incidence without order effects matches the default


# ---------------------------------------------------------------------------------------------- the chain
def _coef_matrix(table: dict, rows: tuple, cols: tuple) -> np.ndarray:
    return np.array([[table[c].get(r, 0.0) for c in cols] for r in rows], dtype=np.float64)


def hazard_arrays(params: dict) -> dict:
    """Coefficient arrays of the monthly hazards: b0 (events,), static (4, events), state (9, events)."""
    hz = params["hazards"]
    return {"b0": np.array([hz[e]["b0"] for e in EVENTS]),
            "static": _coef_matrix(hz, STATIC_FEATURES, EVENTS),
            "state": _coef_matrix(hz, STATE_FEATURES, EVENTS)}


def state_features(chronic, mi, stage, episode) -> np.ndarray:
    """(..., 9) float features HTN, DM, CAD, AF, CKD, B, MIr, MIo, E of latent states (any leading shape)."""
    chronic = np.asarray(chronic)
    shape = np.broadcast_shapes(chronic.shape[:-1], np.shape(mi), np.shape(stage), np.shape(episode))
    cols = [np.asarray(stage) == STAGE_B, np.asarray(mi) == MI_RECENT, np.asarray(mi) == MI_OLD,
            np.asarray(episode) == 1]
    return np.concatenate([np.broadcast_to(chronic, shape + (5,)).astype(np.float64),
                           np.stack([np.broadcast_to(c, shape) for c in cols], axis=-1)], axis=-1)


def static_features(age0, male, obese, lipid, month) -> np.ndarray:
    """(n, 4) static features at ``month`` (scalar or (n,)): age10 = (age - 60) / 10, where the age grows by one
    year every 12 months of follow-up (so hazards change once a year, which keeps the oracles cheap)."""
    age = np.asarray(age0, dtype=np.float64) + np.floor_divide(np.asarray(month), 12)
    return np.stack([(age - 60.0) / 10.0, np.asarray(male, float), np.asarray(obese, float),
                     np.asarray(lipid, float)], axis=-1)


def event_probs(static: np.ndarray, state: np.ndarray, coefs: dict) -> np.ndarray:
    """Monthly event probabilities 1 - exp(-lambda), shape broadcast(static[..., :], state[..., :]) x events."""
    eta = coefs["b0"] + static @ coefs["static"] + state @ coefs["state"]
    return -np.expm1(-np.exp(eta))


def step(chronic, mi, stage, episode, static, params, rng, coefs=None):
    """One month of the chain for a batch of patients; returns new (chronic, mi, stage, episode, hf_onset mask).

    Every component is drawn independently given the previous state; an HF onset clears the episode.
    """
    coefs = coefs or hazard_arrays(params)
    p = event_probs(static, state_features(chronic, mi, stage, episode), coefs)
    u = rng.random((len(stage), len(EVENTS) + 2))
    new_chronic = chronic | (u[:, :5] < p[:, :5]).astype(chronic.dtype)
    p_rec = -np.expm1(-params["mi_recovery_rate"])
    new_mi = np.where(mi == MI_RECENT, np.where(u[:, 5] < p_rec, MI_OLD, MI_RECENT),
                      np.where(u[:, 5] < p[:, 5], MI_RECENT, mi)).astype(mi.dtype)
    onset = (stage != STAGE_HF) & (u[:, 8] < p[:, 8])
    to_b = (stage == STAGE_A) & ~onset & (u[:, 7] < p[:, 7])
    new_stage = np.where(onset, STAGE_HF, np.where(to_b, STAGE_B, stage)).astype(stage.dtype)
    p_end = -np.expm1(-params["episode_end_rate"])
    new_ep = np.where(episode == 1, u[:, 9] >= p_end, u[:, 6] < p[:, 6]) & (new_stage != STAGE_HF)
    return new_chronic, new_mi, new_stage, new_ep.astype(episode.dtype), onset


def visit_probs(chronic, mi, stage, episode, params) -> np.ndarray:
    """Probability of a visit in a month, from that month's latent state (HF onset months are forced elsewhere)."""
    v = params["visit"]
    log_rho = (np.log(v["rate"]) + v["chronic"] * np.asarray(chronic).sum(-1) + v["MIr"] * (np.asarray(mi) == MI_RECENT)
               + v["B"] * (np.asarray(stage) == STAGE_B) + v["E"] * (np.asarray(episode) == 1)
               + v["HF"] * (np.asarray(stage) == STAGE_HF))
    return -np.expm1(-np.exp(log_rho))


def parent_features(chronic, mi, stage, episode, obese, lipid) -> np.ndarray:
    """(..., len(PARENTS)) 0/1 emission parents of latent states."""
    c = np.asarray(chronic).astype(bool)
    htn, dm, ckd = c[..., 0], c[..., 1], c[..., 4]
    hf, b = np.asarray(stage) == STAGE_HF, np.asarray(stage) == STAGE_B
    cols = [htn, dm, c[..., 2], c[..., 3], ckd, np.asarray(obese, bool), np.asarray(lipid, bool),
            np.asarray(mi) == MI_RECENT, np.asarray(mi) == MI_OLD, b, np.asarray(episode) == 1, hf,
            htn & hf, htn & b, dm & ~ckd, dm & ckd]
    return np.stack([np.broadcast_to(x, hf.shape) for x in cols], axis=-1).astype(np.float64)


# ---------------------------------------------------------------------------------------------- codes
class CodeBook:
    """Integer layout of all codes the generator can emit, derived from ``params`` (cached per params object)."""

    def __init__(self, params: dict):
        core, reasons = params["core"], params["acute"]["reasons"]
        names = list(core)
        for r in reasons:
            names.append("D_" + r["group"])
            names.extend(c for c in r["co"] if c not in names)
        self.names = list(dict.fromkeys(names))  # group-level names (D_ 3-digit groups, RX_, PX_)
        self.index = {n: i for i, n in enumerate(self.names)}
        K, F, R = len(self.names), len(PARENTS), len(reasons)
        self.leak = np.zeros(K)
        self.parent_p = np.zeros((F, K))
        for name, spec in core.items():
            k = self.index[name]
            self.leak[k] = spec["leak"]
            for f, p in spec["parents"].items():
                self.parent_p[PARENTS.index(f), k] = p
        self.reason_p = np.zeros((R, K))  # P(code | reason)
        for r, reason in enumerate(reasons):
            self.reason_p[r, self.index["D_" + reason["group"]]] = 1.0
            for c, p in reason["co"].items():
                self.reason_p[r, self.index[c]] = p
        nz = [np.flatnonzero(row) for row in self.reason_p]  # sparse copy of reason_p
        self.entry_count = np.array([len(z) for z in nz])
        self.entry_start = np.concatenate([[0], np.cumsum(self.entry_count)[:-1]])
        self.entry_code = np.concatenate(nz)
        self.entry_p = np.concatenate([row[z] for row, z in zip(self.reason_p, nz)])
        self.n_core = len(core)
        self.kind = np.array([0 if n.startswith("D_") else 1 if n.startswith(("PX_", "P_")) else 2 for n in self.names])
        self.weights = np.array([r["weight"] for r in reasons])
        self.weights = self.weights / self.weights.sum()
        # sub-codes: flat arrays with per-group offsets; groups without sub-codes emit their own name
        subs = {name: spec["sub"] for name, spec in core.items() if spec["sub"]}
        subs.update({"D_" + r["group"]: r["sub"] for r in reasons})
        self.sub_tables = {}
        for key, alt in (("default", {}), ("ckd", params.get("sub_if_ckd", {})), ("hf", params.get("sub_if_hf", {}))):
            table = dict(subs, **alt)
            self.sub_tables[key] = self._flatten(table)
        self.hf_code = self.index["D_428"]

    def _flatten(self, table: dict):
        names, cum, start, count = [], [], np.zeros(len(self.names), int), np.zeros(len(self.names), int)
        for k, group in enumerate(self.names):
            start[k] = len(names)
            if group in table:
                w = np.array(list(table[group].values()), dtype=float)
                names.extend("D_" + s for s in table[group])
                cum.extend(np.cumsum(w / w.sum()))
                count[k] = len(w)
            else:
                names.append(group)
                cum.append(1.0)
                count[k] = 1
        cum = np.array(cum)
        cum[start + count - 1] = 1.0 + 1e-9  # guard against round-off at the end of each group
        return np.array(names, dtype=object), cum, start, count

    def draw_subcodes(self, groups: np.ndarray, variant: np.ndarray, rng) -> np.ndarray:
        """Full code names for emitted group indices; ``variant`` 0 default / 1 CKD / 2 HF picks the table."""
        out = np.empty(len(groups), dtype=object)
        u = rng.random(len(groups))
        for v, key in enumerate(("default", "ckd", "hf")):
            sel = variant == v
            if not sel.any():
                continue
            names, cum, start, count = self.sub_tables[key]
            g = groups[sel]
            # groups' cumulative weights shifted by the group index form one increasing array
            owner = np.repeat(np.arange(len(start)), count)
            pos = np.searchsorted(cum + owner, g + u[sel])
            out[sel] = names[np.clip(pos, start[g], start[g] + count[g] - 1)]
        return out

    def reason_entries(self, reasons: np.ndarray):
        """(row into ``reasons``, code index, probability) of every code each drawn reason may emit."""
        counts = self.entry_count[reasons]
        row = np.repeat(np.arange(len(reasons)), counts)
        first = np.repeat(self.entry_start[reasons] - np.cumsum(counts) + counts, counts)
        flat = first + np.arange(len(row))
        return row, self.entry_code[flat], self.entry_p[flat]


_CODEBOOKS: dict = {}


def codebook(params: dict) -> CodeBook:
    key = id(params)
    if key not in _CODEBOOKS or _CODEBOOKS[key][0] is not params:
        _CODEBOOKS[key] = (params, CodeBook(params))
    return _CODEBOOKS[key][1]


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
        """Latent state (chronic, mi, stage, episode) of patients at months (arrays of equal length)."""
        t = self.truth
        return {k: t[k][patients, months] for k in ("chronic", "mi", "stage", "episode")}

    def summary(self) -> dict:
        """Calibration figures: codes/visit, gap, 3-digit groups, 5-year HF incidence, prevalences."""
        s = self.cohort.summary()
        t, m5 = self.truth, min(60, self.months - 1)
        groups = {c[:5] if c.startswith("D_E") else c.split(".")[0] for codes in self.cohort.visits["codes"]
                  for c in codes if c.startswith("D_")}
        s.update({"dx_groups": len(groups),
                  "hf_incidence_5y": float(np.mean((self.hf_onset_month >= 0) & (self.hf_onset_month <= m5))),
                  "episode_ever": float(t["episode"].any(1).mean())})
        for k, name in enumerate(CHRONIC):
            s[f"{name}_0"], s[f"{name}_5y"] = float(t["chronic"][:, 0, k].mean()), float(t["chronic"][:, m5, k].mean())
        s["B_0"], s["B_5y"] = float((t["stage"][:, 0] >= 1).mean()), float((t["stage"][:, m5] >= 1).mean())
        return s


def _logistic(table: dict, feats: dict, n: int) -> np.ndarray:
    eta = np.full(n, table["b0"], dtype=np.float64)
    for k, coef in table.items():
        if k != "b0":
            eta += coef * feats[k]
    return 1.0 / (1.0 + np.exp(-eta))


def generate_cohort(n_patients: int, seed: int = 0, order_effects: bool = True, hospital: str = "A",
                    months: int = 72, params: dict | None = None) -> SyntheticEHR:
    """Simulate ``n_patients`` over ``months`` months; deterministic given the arguments.

    Returns a ``SyntheticEHR`` with ``.cohort`` (EHRCohort; visits carry an extra ``month`` column),
    ``.truth`` (monthly latent arrays, baseline covariates, acute propensities), ``.hf_onset_month`` (-1: none).
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}.")
    params = params if params is not None else default_params(order_effects, hospital, months)
    M, N = params["months"], int(n_patients)
    rng = np.random.default_rng(seed)
    coefs = hazard_arrays(params)

    # baseline covariates and month-0 state
    lo, hi = params["age0"]
    age0 = rng.uniform(lo, hi, N)
    male, obese, lipid = (rng.random((3, N)) < np.array([[params["p_male"]], [params["p_obese"]],
                                                        [params["p_lipid"]]])).astype(np.int8)
    feats = {"age10": (age0 - 60) / 10, "male": male, "obese": obese, "lipid": lipid}
    chronic = np.zeros((N, 5), np.int8)
    for k, name in enumerate(CHRONIC):
        chronic[:, k] = rng.random(N) < _logistic(params["baseline"][name], feats, N)
        feats[name] = chronic[:, k]
    mi = np.where(chronic[:, 2].astype(bool) & (rng.random(N) < params["p_mi_old_if_cad"]), MI_OLD, MI_NONE).astype(np.int8)
    stage = (rng.random(N) < _logistic(params["baseline"]["B"], feats, N)).astype(np.int8)
    episode = np.zeros(N, np.int8)

    T = {"chronic": np.zeros((N, M, 5), np.int8), "mi": np.zeros((N, M), np.int8),
         "stage": np.zeros((N, M), np.int8), "episode": np.zeros((N, M), np.int8)}
    onset_month = np.full(N, -1, np.int64)
    for m in range(M):
        if m > 0:
            chronic, mi, stage, episode, onset = step(chronic, mi, stage, episode,
                                                      static_features(age0, male, obese, lipid, m - 1), params, rng, coefs)
            onset_month[onset] = m
        T["chronic"][:, m], T["mi"][:, m], T["stage"][:, m], T["episode"][:, m] = chronic, mi, stage, episode

    # visits: one draw per patient-month; the HF onset month always has one
    p_visit = visit_probs(T["chronic"], T["mi"], T["stage"], T["episode"], params)
    visit = rng.random((N, M)) < p_visit
    has_hf = onset_month >= 0
    visit[np.flatnonzero(has_hf), onset_month[has_hf]] = True
    day_in_month = rng.integers(0, 30, (N, M))
    T.update({"visit": visit, "age0": age0, "male": male, "obese": obese, "lipid": lipid})

    # acute propensities: Dirichlet(concentration * w) per patient (via normalised gammas)
    book = codebook(params)
    acute = params["acute"]
    g = rng.standard_gamma(acute["concentration"] * book.weights, size=(N, len(book.weights)))
    g[g.sum(1) == 0, 0] = 1.0
    T["acute_propensity"] = (g / g.sum(1, keepdims=True)).astype(np.float64)

    pid, month = np.nonzero(visit)  # visits sorted by patient, then month
    day = np.round(DAYS_PER_MONTH * month).astype(np.int64) + day_in_month[pid, month]
    T["visit_day"] = np.where(visit, np.round(DAYS_PER_MONTH * np.arange(M)).astype(np.int64) + day_in_month, -1)
    codes = _emit(T, pid, month, onset_month, params, book, rng)

    start = np.datetime64(params["start_date"], "D")
    patients = pd.DataFrame({"patient_id": np.arange(N), "sex": np.where(male == 1, "M", "F"),
                             "birth_date": (start - np.round(age0 * 365.25).astype("timedelta64[D]")).astype("datetime64[ns]")})
    visits = pd.DataFrame({"patient_id": pid, "visit_id": np.arange(len(pid)),
                           "time": (start + day.astype("timedelta64[D]")).astype("datetime64[ns]"),
                           "codes": codes, "month": month})
    cohort = EHRCohort(patients, visits, name=f"synthetic hospital {params['hospital']} (seed {seed}, n={N})")
    return SyntheticEHR(cohort, T, onset_month, params, seed, start)


def _emit(T: dict, pid: np.ndarray, month: np.ndarray, onset_month: np.ndarray, params: dict,
          book: CodeBook, rng) -> list:
    """Codes of every visit (list of lists of full code strings)."""
    V, K = len(pid), len(book.names)
    st = {k: T[k][pid, month] for k in ("chronic", "mi", "stage", "episode")}
    X = parent_features(st["chronic"], st["mi"], st["stage"], st["episode"], T["obese"][pid], T["lipid"][pid])
    C = book.n_core  # only core codes have parents and leaks
    with np.errstate(divide="ignore"):
        log_q = X @ np.log1p(-np.minimum(book.parent_p[:, :C], 1 - 1e-12)) + np.log1p(-book.leak[:C])
    v_core, k_core = np.nonzero(rng.random((V, C)) < -np.expm1(log_q))
    v_hf = np.flatnonzero(onset_month[pid] == month)  # the diagnosis visit always carries an HF code

    # acute reasons: k ~ Bin(n_max, p), each drawn from the patient's propensities
    acute = params["acute"]
    n_reasons = rng.binomial(acute["n_max"], acute["p"], V)
    r_visit = np.repeat(np.arange(V), n_reasons)
    cum = np.cumsum(T["acute_propensity"], axis=1)
    cum /= cum[:, -1:]
    R = cum.shape[1]
    rows = pid[r_visit]
    reason = np.searchsorted((cum + np.arange(len(cum))[:, None]).ravel(), rows + rng.random(len(rows))) - rows * R
    reason = np.clip(reason, 0, R - 1)
    row, code, p = book.reason_entries(reason)
    keep = rng.random(len(row)) < p

    # union of (visit, group) pairs, then one full code per fired group; CKD changes 250's, HF changes 402's
    key = np.sort(np.concatenate([v_core * K + k_core, v_hf * K + book.hf_code, r_visit[row[keep]] * K + code[keep]]))
    key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    vi, ki = key // K, key % K
    variant = np.zeros(len(vi), np.int8)
    variant[st["chronic"][vi, 4] == 1] = 1
    is_hf = st["stage"][vi] == STAGE_HF
    variant[is_hf & (ki != book.index["D_250"])] = 2
    full = book.draw_subcodes(ki, variant, rng)
    # order within a visit: diagnoses, procedures, drugs (like a claim), each in code-book order
    order = np.lexsort((ki, book.kind[ki], vi))
    full, vi = full[order].tolist(), vi[order]
    bounds = np.searchsorted(vi, np.arange(V + 1)).tolist()
    return [full[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
