"""Every parameter of the synthetic EHR generator, with the reason for its value (``docs/ehr-generator.md``).

The simulation (``labutils.ehr.generator``) reads a plain, JSON-able dict built by ``default_params``; edit a
copy of it to run a variant. The tables are grouped by mechanism:

- the **heart-failure chain** (``HAZARDS``, ``BASELINE``): five absorbing chronic conditions, MI status, HF stage
  and a transient congestion state, month by month; unchanged from the first version of the generator, so the
  HF oracle stays exact and the HF design of notebook 05 keeps its calibration;
- **emissions** (``CORE``): the codes each part of the latent state causes at a visit, by a noisy-OR;
- **acute episodes** (``NAMED_EPISODES`` + a seed-independent long tail): conditions that start, last a
  condition-specific number of months, bring visits and codes while active, and end with a follow-up visit;
- **progression** (``ACQUIRED``): complications that long-standing chronic disease begets after a delay, and
  respiratory diagnoses that a dyspnoea work-up ends in;
- **care pathways** (``PATHWAYS``): treatment lines that start with a diagnosis and escalate later.

``order_effects=False`` switches off every mechanism that makes the ORDER of visits informative (the list is in
``default_params``); ``hospital="B"`` is another coding culture for transfer learning.
"""
from __future__ import annotations

import copy

import numpy as np

CHRONIC = ("HTN", "DM", "CAD", "AF", "CKD")
STATIC_FEATURES = ("age10", "male", "obese", "lipid")
STATE_FEATURES = ("HTN", "DM", "CAD", "AF", "CKD", "B", "MIr", "MIo", "E")
EVENTS = ("HTN", "DM", "CAD", "AF", "CKD", "MI", "E", "AB", "HF")  # monthly onset hazards of the HF chain
MI_NONE, MI_RECENT, MI_OLD = 0, 1, 2
STAGE_A, STAGE_B, STAGE_HF = 0, 1, 2
DAYS_PER_MONTH = 30.44
START_DATE = "2010-01-01"
SYMPTOM_CODES = ("D_786", "D_782", "D_780")  # the HF symptoms; other causes of them explain them away

# ---------------------------------------------------------------------------------------------- the HF chain
HAZARDS = {  # log monthly hazard = b0 + sum coef * feature
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
BASELINE = {  # logistic prevalence at month 0
    "HTN": {"b0": -.5, "age10": .6, "obese": .6},
    "DM": {"b0": -2.0, "age10": .3, "obese": .9},
    "CAD": {"b0": -2.6, "age10": .6, "male": .5, "HTN": .5, "DM": .5, "lipid": .4},
    "AF": {"b0": -3.5, "age10": .8, "HTN": .4},
    "CKD": {"b0": -3.0, "age10": .6, "DM": .7, "HTN": .6},
    "B": {"b0": -3.0, "age10": .5, "HTN": .5, "CAD": .5, "AF": .5},
}
# Without order effects the congestion state no longer raises the HF hazard; this intercept shift (measured)
# keeps the 5-year HF incidence where it is with order effects.
HF_B0_SHIFT_OFF = 1.35

# ---------------------------------------------------------------------------------------------- emissions
# Emission parents: 0/1 features of a (patient, month) that can cause a code (``generator.parent_features``).
PARENTS = ("HTN", "DM", "CAD", "AF", "CKD", "obese", "lipid", "MIr", "MIo", "B", "E", "HF",
           "HTN&HF", "HTN&B", "DM&~CKD", "DM&CKD",
           "DM new", "DM line 1", "DM line 2", "HTN line 1", "HTN line 2", "anticoagulated",
           "retinopathy", "neuropathy", "stroke new", "stroke late", "asthma", "COPD")
# code: (parents with probabilities, leak, sub-code distribution for diagnoses)
CORE = {
    "D_401": ({"HTN": .22}, .005, {"401.9": .85, "401.1": .10, "401.0": .05}),
    "D_250": ({"DM": .22}, .003, {"250.00": .6, "250.02": .2, "250.01": .2}),  # 250.40 when CKD (below)
    "D_414": ({"CAD": .17}, .005, {"414.01": .8, "414.00": .2}),
    "D_427": ({"AF": .2}, .005, {"427.31": 1.0}),
    "D_585": ({"CKD": .15}, .002, {"585.3": .5, "585.4": .2, "585.9": .3}),
    "D_278": ({"obese": .08}, .005, {"278.00": .7, "278.01": .3}),
    "D_272": ({"lipid": .12}, .01, {"272.4": .6, "272.0": .4}),
    "D_410": ({"MIr": .85}, 0.0, {"410.71": .5, "410.91": .3, "410.41": .2}),
    "D_412": ({"MIo": .06}, 0.0, {"412": 1.0}),
    "D_786": ({"B": .12, "E": .6, "HF": .5}, .01, {"786.05": .5, "786.2": .3, "786.50": .2}),
    "D_782": ({"B": .10, "E": .5, "HF": .4}, .01, {"782.3": .8, "782.1": .2}),
    "D_780": ({"B": .08, "E": .3, "HF": .3}, .02, {"780.79": .6, "780.4": .4}),
    "D_428": ({"HF": .9}, 0.0, {"428.0": .6, "428.22": .1, "428.32": .1, "428.9": .2}),
    "D_402": ({"HTN&HF": .3, "HTN&B": .1}, 0.0, {"402.90": .7, "402.10": .3}),  # 402.91 when HF (below)
    # progression: complications of long-standing disease, then coded at most visits
    "D_362": ({"retinopathy": .6}, 0.0, {"362.01": .7, "362.02": .3}),
    "D_357": ({"neuropathy": .55}, 0.0, {"357.2": 1.0}),
    "D_434": ({"stroke new": .9}, 0.0, {"434.91": .8, "434.11": .2}),
    "D_438": ({"stroke late": .45}, 0.0, {"438.20": .5, "438.11": .3, "438.89": .2}),
    "D_493": ({"asthma": .7}, 0.0, {"493.90": .7, "493.92": .3}),
    "D_496": ({"COPD": .7}, 0.0, {"496": 1.0}),
    # drugs and procedures (half the strength of the design table; scaled again by RX_PX_SCALE below)
    "RX_ACEI": ({"HTN line 1": .2, "HTN line 2": .35, "DM": .07, "CKD": .07, "HF": .3, "B": .05}, 0.0, None),
    "RX_THIAZ": ({"HTN line 1": .15, "HTN line 2": .3}, 0.0, None),
    "RX_CCB": ({"HTN line 2": .4}, 0.0, None),
    "RX_BB": ({"HTN": .05, "CAD": .15, "AF": .18, "MIr": .4, "MIo": .2, "HF": .25}, 0.0, None),
    "RX_LOOP": ({"B": .025, "E": .25, "HF": .4, "CKD": .05}, 0.0, None),
    "RX_METF": ({"DM line 1": .5, "DM line 2": .2}, 0.0, None),
    "RX_INSUL": ({"DM line 2": .6}, 0.0, None),
    "RX_STATIN": ({"CAD": .25, "DM": .12, "lipid": .18, "MIo": .35}, 0.0, None),
    "RX_ASA": ({"CAD": .18, "MIr": .45, "MIo": .25, "stroke late": .4}, .005, None),
    "RX_NITRATE": ({"CAD": .05, "MIr": .2}, 0.0, None),
    "RX_ANTICOAG": ({"anticoagulated": .55}, 0.0, None),
    "RX_DIGOX": ({"AF": .04, "HF": .1}, 0.0, None),
    "RX_ICS": ({"asthma": .4, "COPD": .3}, 0.0, None),
    "PX_93000": ({"AF": .15, "CAD": .06, "MIr": .4, "B": .04}, .02, None),
    "PX_93306": ({"B": .06, "E": .1, "AF": .05, "MIr": .3, "HF": .2}, .003, None),
    "PX_83036": ({"DM new": .8, "DM": .2}, .005, None),
    "PX_80061": ({"CAD": .08, "DM": .08, "lipid": .08}, .02, None),
    "PX_80048": ({"CKD": .2, "DM": .05, "HF": .2, "HTN": .03}, .025, None),
    "PX_93458": ({"MIr": .2, "CAD": .01}, 0.0, None),
    "PX_83880": ({"B": .025, "E": .15, "HF": .25}, .002, None),
    "PX_92250": ({"retinopathy": .5, "DM": .05}, 0.0, None),
    "PX_70450": ({"stroke new": .8}, 0.0, None),
}
RX_PX_SCALE = .6  # calibration: about 3.3 codes of all types per visit (Choi et al. 2016: 3.22)
SUB_IF_CKD = {"D_250": {"250.40": .5, "250.00": .3, "250.02": .1, "250.01": .1}}  # diabetic nephropathy
SUB_IF_HF = {"D_402": {"402.91": 1.0}}

# ---------------------------------------------------------------------------------------------- acute episodes
# Named episodes: 3-digit group, relative onset weight, mean duration (months), sub-codes, codes co-emitted
# while active. Durations follow the usual course: infections about a month, back pain a few, depression many.
NAMED_EPISODES = [
    ("465", 0.045, 1.0, {"465.9": 1.0}, {"D_786": .3}),
    ("466", 0.021, 1.2, {"466.0": 1.0}, {"D_786": .5, "RX_ABX": .6}),
    ("486", 0.009, 1.3, {"486": 1.0}, {"D_786": .6, "D_780": .3, "PX_71046": .7, "RX_ABX": .8}),
    ("682", 0.009, 1.2, {"682.6": .6, "682.7": .4}, {"D_782": .5, "RX_ABX": .7}),
    ("599", 0.015, 1.0, {"599.0": 1.0}, {"RX_ABX": .6}),
    ("724", 0.015, 3.0, {"724.2": .7, "724.5": .3}, {"RX_NSAID": .4}),
    ("719", 0.015, 2.5, {"719.46": .6, "719.41": .4}, {"RX_NSAID": .4}),
    ("692", 0.009, 1.0, {"692.9": 1.0}, {}),
    ("530", 0.012, 4.0, {"530.81": 1.0}, {"RX_PPI": .5}),
    ("787", 0.009, 1.0, {"787.01": .5, "787.91": .5}, {}),
    ("784", 0.009, 1.0, {"784.0": 1.0}, {}),
    ("311", 0.009, 8.0, {"311": 1.0}, {"RX_SSRI": .5}),
    ("300", 0.009, 5.0, {"300.00": 1.0}, {}),
    ("477", 0.009, 2.0, {"477.9": 1.0}, {}),
    ("366", 0.006, 3.0, {"366.9": 1.0}, {}),
    ("729", 0.009, 2.0, {"729.5": .6, "729.1": .4}, {}),
    # the dyspnoea work-up: chest X-ray and spirometry, then asthma, COPD or nothing (ACQUIRED below)
    ("786", 0.009, 2.0, {"786.05": .6, "786.2": .4}, {"PX_71046": .4, "PX_94010": .4}),
]
EPISODE_TAIL = {"n": 600, "mass": 3.0, "zipf": .2, "seed": 2017,
                "mean_months": [1.0, 1.5, 2.0, 3.0, 6.0], "months_p": [.4, .25, .15, .12, .08]}
# Onset: each inactive episode kind starts in a month with probability 1 - exp(-h), h = rate_p * propensity_pk,
# the patient's propensities Dirichlet(concentration * weights) (patients have their own usual complaints).
EPISODE_ONSET = {"rate": .5, "rate_shape": 2.0, "concentration": 10.0}
EPISODE_CODING = {"p_group": .85, "visit_boost": .8, "follow_up": True, "follow_up_boost": .2,
                  "p_follow_up_code": .25}
FOLLOW_UP_CODE = ("D_V67", {"V67.09": .6, "V67.59": .4})
# Incidental codes: at every visit, Bin(n_max, p) groups drawn from the episode weights (the population's, not the
# patient's): one-off findings no state predicts, the part of a visit that no oracle can foresee.
INCIDENTAL = {"n_max": 2, "p": .14}

# ---------------------------------------------------------------------------------------------- progression
# Acquired conditions (absorbing). "after": the parent, the delay (months since the parent's onset) before the
# monthly hazard starts, and that hazard; "from_episode": the episode kind whose end can lead to it.
ACQUIRED = {
    "retinopathy": {"after": ("DM", 24, 1 / 60)},
    "neuropathy": {"after": ("DM", 36, 1 / 90)},
    "stroke": {"after": ("AF", 0, 1 / 120), "anticoagulant_factor": .35, "new_months": 2},
    "asthma": {"from_episode": ("786", .25)},
    "COPD": {"from_episode": ("786", .20)},
}
PREVALENT_DURATION_MONTHS = (6, 120)  # conditions present at month 0 began U(6, 120) months before

# ---------------------------------------------------------------------------------------------- care pathways
# A diagnosis starts line 1 (DM: metformin, HbA1c in the first months; HTN: one drug); after "delay" months the
# line escalates with a monthly hazard (DM: insulin; HTN: a second drug). AF: anticoagulated with p_anticoagulant.
PATHWAYS = {"DM": {"new_months": 4, "delay": 12, "hazard": 1 / 24},
            "HTN": {"delay": 12, "hazard": 1 / 18},
            "AF": {"p_anticoagulant": .6}}

# ---------------------------------------------------------------------------------------------- visits
# Monthly visit rate rho = rate * exp(chronic * #chronic + MIr + B + E + HF terms) + the boosts of active
# episodes and follow-ups + new-stroke boost; P(visit) = 1 - exp(-rho). The rates add, so the probability of
# no visit factorises over independent parts of the state (which keeps the next-visit oracle exact).
VISIT = {"rate": .07, "chronic": .15, "MIr": 1.5, "B": .3, "E": 1.2, "HF": .9, "stroke new": 1.5}


def tail_episodes(spec: dict) -> list:
    """The long tail of episodes: fixed (seed-independent) 3-digit groups with Zipf weights and 1-4 sub-codes."""
    rng = np.random.default_rng(spec["seed"])  # structure only: the same names for every cohort seed and hospital
    used = {g[2:] for g in CORE if g.startswith("D_")} | {e[0] for e in NAMED_EPISODES} | {"398", "404", "V67"}
    candidates = [f"{i:03d}" for i in list(range(1, 390)) + list(range(460, 780)) + list(range(790, 1000))]
    candidates += [f"V{i:02d}" for i in range(1, 90)]
    candidates = [c for c in candidates if c not in used]
    chosen = rng.choice(candidates, size=spec["n"], replace=False)
    weights = 1.0 / np.arange(1, spec["n"] + 1) ** spec["zipf"]
    weights = spec["mass"] * weights / weights.sum()
    months = rng.choice(spec["mean_months"], size=spec["n"], p=spec["months_p"])
    tail = []
    for group, w, mean_months in zip(chosen, weights, months):
        n_sub = int(rng.integers(1, 5))
        digits = rng.choice(10, size=n_sub, replace=False)
        probs = rng.dirichlet(np.full(n_sub, 2.0))
        tail.append((str(group), float(w), float(mean_months),
                     {f"{group}.{d}": float(p) for d, p in zip(digits, probs)}, {}))
    return tail


def default_params(order_effects: bool = True, hospital: str = "A", months: int = 72) -> dict:
    """All generator parameters as a plain (JSON-able) dict; ``generate_cohort(..., params=...)`` accepts edits.

    ``order_effects=False`` switches off what makes the order of visits informative:
    - HF: the congestion state no longer raises the HF hazard, shows no codes and brings no visits; a recent MI
      raises it no more than an old one; no episode co-emits the symptoms 786/782/780 (the dyspnoea work-up still
      codes its own group, 786);
    - episodes last exactly one month and have no follow-up (each month independently, as in a bag of visits);
    - acquired conditions and the second treatment line begin with their parent disease (no delay, no later
      escalation; asthma and COPD from the start of follow-up) in the patients who would reach them by the end
      of follow-up; no new-diagnosis or new-stroke windows.
    """
    hazards = copy.deepcopy(HAZARDS)
    scale = {c: (1.0 if c.startswith("D_") else RX_PX_SCALE) for c in CORE}
    core = {c: {"parents": {f: scale[c] * p for f, p in parents.items()}, "leak": scale[c] * leak,
                "sub": (dict(sub) if sub else None)}
            for c, (parents, leak, sub) in CORE.items()}
    episodes = [{"group": g, "weight": w, "mean_months": d, "sub": dict(sub), "co": dict(co)}
                for g, w, d, sub, co in NAMED_EPISODES + tail_episodes(EPISODE_TAIL)]
    visit = dict(VISIT)
    coding = dict(EPISODE_CODING)
    acquired, pathways = copy.deepcopy(ACQUIRED), copy.deepcopy(PATHWAYS)
    if not order_effects:
        hf = hazards["HF"]
        hf["E"] = 0.0
        hf["MIr"] = hf["MIo"]
        hf["b0"] += HF_B0_SHIFT_OFF
        for spec in core.values():
            spec["parents"].pop("E", None)
        visit["E"] = 0.0
        for episode in episodes:
            for code in SYMPTOM_CODES:
                episode["co"].pop(code, None)
            episode["mean_months"] = 1.0
        coding.update(follow_up=False, follow_up_boost=0.0, p_follow_up_code=0.0)
        pathways["DM"]["new_months"] = 0
        acquired["stroke"]["new_months"] = 0
    if hospital == "B":  # transfer learning: another coding culture, same diseases and code names
        visit["rate"] *= 1.3
        coding["visit_boost"] *= 1.3
        coding["p_group"] *= .8
        for name, spec in core.items():
            spec["leak"] = min(2.0 * spec["leak"], 0.5)
            if name.startswith("D_"):
                spec["parents"] = {f: .7 * p for f, p in spec["parents"].items()}
    elif hospital != "A":
        raise ValueError(f"hospital must be 'A' or 'B', got {hospital!r}.")
    return {
        "months": int(months), "order_effects": bool(order_effects), "hospital": hospital,
        "start_date": START_DATE, "age0": [40.0, 75.0], "p_male": .5, "p_obese": .3, "p_lipid": .4,
        "baseline": copy.deepcopy(BASELINE), "p_mi_old_if_cad": .25,
        "hazards": hazards, "mi_recovery_rate": 1 / 3, "congestion_end_rate": 1 / 2,
        "visit": visit, "core": core,
        "episodes": episodes, "episode_onset": dict(EPISODE_ONSET), "episode_coding": coding,
        "incidental": dict(INCIDENTAL),
        "follow_up_code": [FOLLOW_UP_CODE[0], dict(FOLLOW_UP_CODE[1])],
        "acquired": acquired, "pathways": pathways,
        "prevalent_duration_months": list(PREVALENT_DURATION_MONTHS),
        "sub_if_ckd": copy.deepcopy(SUB_IF_CKD), "sub_if_hf": copy.deepcopy(SUB_IF_HF),
    }
