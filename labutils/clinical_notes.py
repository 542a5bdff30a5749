"""Short generated clinical notes whose truth is known (notebook 08).

Each note describes one patient. The patient either has each of eight conditions **now** (an active
problem) or not; the note mentions a condition in one of five contexts, chosen from the truth:

| context     | example                              | has it now? |
|-------------|--------------------------------------|-------------|
| current     | "presents with pneumonia ."          | yes         |
| negated     | "denies chest pain", "dvt ruled out" | no          |
| history     | "history of mi , resolved ."         | no          |
| family      | "mother with depression ."           | no          |
| uncertain   | "possible uti ."                     | either      |

so the *word* for a condition appears in many notes of patients who do not have it: a bag of words
is fooled by scope by construction (the word order, "ruled out" after the term, decides). Medication
mentions carry token-level BIO tags (DRUG, DOSE, ROUTE, FREQ). A background drug may also be listed as
held ("omeprazole held"): the patient does not take it now, so it is not a mention (tagged "O"), and
only the word after the drug says so. Abbreviations ("afib", "cva") and typos (two letters swapped)
make the vocabulary realistic.

Because the generator knows the probabilities it used, ``oracle_probability`` gives, for each note and
condition, the exact probability that the patient has the condition given the context of its mention
and whether a drug for it is listed: the best any model can do from the text (typos aside).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# name → surface forms (abbreviations included), and the drugs that treat it
CONDITIONS: dict[str, tuple[str, ...]] = {
    "pneumonia": ("pneumonia", "pna"),
    "urinary tract infection": ("urinary tract infection", "uti"),
    "myocardial infarction": ("myocardial infarction", "mi", "heart attack"),
    "atrial fibrillation": ("atrial fibrillation", "afib", "af"),
    "asthma": ("asthma",),
    "depression": ("depression", "mdd"),
    "stroke": ("stroke", "cva"),
    "deep vein thrombosis": ("deep vein thrombosis", "dvt"),
}
NAMES = tuple(CONDITIONS)
CONTEXTS = ("current", "negated", "history", "family", "uncertain", "none")

PREVALENCE = 0.25
# P(context of the condition's mention | has it now) and P(context | does not have it).
CONTEXT_IF_PRESENT = {"current": 0.85, "uncertain": 0.10, "none": 0.05}
CONTEXT_IF_ABSENT = {"negated": 0.22, "history": 0.12, "family": 0.12, "uncertain": 0.06, "none": 0.48}
P_DRUG_IF_PRESENT = 0.6   # a drug for an active condition is listed; never for an absent one

TEMPLATES = {
    "current": ["presents with {c} .", "known {c} , on treatment .", "assessment : {c} .", "active {c} .",
                "admitted for {c} ."],
    "negated": ["denies {c} .", "no evidence of {c} .", "negative for {c} .", "{c} ruled out .", "no {c} ."],
    "history": ["history of {c} , resolved .", "prior {c} , now resolved .", "past {c} in {year} , resolved ."],
    "family": ["mother with {c} .", "father had {c} .", "family history of {c} .", "sister with {c} ."],
    "uncertain": ["possible {c} .", "rule out {c} .", "concern for {c} ."],
}
# Two mentions in one sentence: the negation's scope ends at the conjunction.
PAIR_TEMPLATES = ["no {neg} but {cur} .", "denies {neg} , reports {cur} .", "{cur} , {neg} ruled out ."]
FILLERS = ["patient is a {age} year old {sex} .", "vitals stable .", "lungs clear .", "heart regular .",
           "afebrile .", "ambulating without assistance .", "tolerating diet .", "alert and oriented ."]

# (drug, dose, route, frequency) for each condition, plus drugs unrelated to any of them.
DRUGS = {
    "pneumonia": [("amoxicillin", "500 mg", "po", "three times daily")],
    "urinary tract infection": [("nitrofurantoin", "100 mg", "po", "bid")],
    "myocardial infarction": [("clopidogrel", "75 mg", "po", "daily"), ("atorvastatin", "80 mg", "po", "nightly")],
    "atrial fibrillation": [("apixaban", "5 mg", "po", "bid"), ("metoprolol", "25 mg", "po", "twice daily")],
    "asthma": [("albuterol", "2 puffs", "inh", "q4h prn")],
    "depression": [("sertraline", "50 mg", "po", "daily")],
    "stroke": [("aspirin", "81 mg", "po", "daily")],
    "deep vein thrombosis": [("enoxaparin", "80 mg", "sc", "every 12 hours")],
}
BACKGROUND_DRUGS = [("acetaminophen", "650 mg", "po", "q6h prn"), ("omeprazole", "20 mg", "po", "daily"),
                    ("vitamin d", "1000 units", "po", "daily"), ("docusate", "100 mg", "po", "bid")]
TAG_TYPES = ("DRUG", "DOSE", "ROUTE", "FREQ")
# A held background drug is independent of the conditions, so labels and the oracle do not change.
P_HELD, HELD = 0.4, "held"


@dataclass
class Note:
    """One generated note: tokens, medication BIO tags, and the truth behind them."""

    tokens: list[str]
    tags: list[str]                      # "O", "B-DRUG", "I-DOSE", ... one per token
    labels: np.ndarray                   # (8,) int: has condition k now
    contexts: list[str]                  # (8,) context of condition k's mention ("none": not mentioned)
    drug_listed: np.ndarray              # (8,) bool: a drug for condition k is in the medication list
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (type, start, end exclusive)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _sample(rng, table: dict[str, float]) -> str:
    keys = list(table)
    cumulative = np.cumsum([table[k] for k in keys])
    return keys[min(int(np.searchsorted(cumulative, rng.random())), len(keys) - 1)]


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _with_typo(rng, word: str) -> str:
    i = int(rng.integers(0, len(word) - 1))
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _medication(drug, start: int) -> tuple[list[str], list[str], list[tuple[str, int, int]]]:
    """Tokens, BIO tags and entity spans (type, start, end exclusive) of one list entry at ``start``."""
    if drug[1:] == (HELD,):  # "omeprazole held": not taken now, so not a medication mention
        words = drug[0].split() + [HELD]
        return words, ["O"] * len(words), []
    tokens, tags, spans = [], [], []
    for kind, phrase in zip(TAG_TYPES, drug):
        words = phrase.split()
        spans.append((kind, start + len(tokens), start + len(tokens) + len(words)))
        tokens += words
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
    return tokens, tags, spans


def _sentence(rng, template: str, **conditions) -> list[str]:
    filled = template.format(year=int(rng.integers(2005, 2023)), age=int(rng.integers(25, 90)),
                             sex=_pick(rng, ["man", "woman"]),
                             **{k: _pick(rng, CONDITIONS[v]) for k, v in conditions.items()})
    return filled.split()


def generate_note(rng: np.random.Generator, typo_rate: float = 0.02) -> Note:
    """One note from a fresh latent patient (see the module docstring)."""
    labels = (rng.random(len(NAMES)) < PREVALENCE).astype(int)
    contexts = [_sample(rng, CONTEXT_IF_PRESENT if has else CONTEXT_IF_ABSENT) for has in labels]
    drug_listed = np.array([bool(has) and rng.random() < P_DRUG_IF_PRESENT for has in labels])

    sentences = [_sentence(rng, _pick(rng, FILLERS)) for _ in range(int(rng.integers(1, 4)))]
    pending = [(NAMES[k], ctx) for k, ctx in enumerate(contexts) if ctx != "none"]
    rng.shuffle(pending)
    negated = [name for name, ctx in pending if ctx == "negated"]
    current = [name for name, ctx in pending if ctx == "current"]
    if negated and current and rng.random() < 0.5:  # one sentence holding both: scope matters
        neg, cur = negated[0], current[0]
        sentences.append(_sentence(rng, _pick(rng, PAIR_TEMPLATES), neg=neg, cur=cur))
        pending = [(n, c) for n, c in pending if n not in (neg, cur)]
    sentences += [_sentence(rng, _pick(rng, TEMPLATES[ctx]), c=name) for name, ctx in pending]
    rng.shuffle(sentences)

    tokens = [w for s in sentences for w in s]
    tokens = [_with_typo(rng, w) if len(w) >= 5 and rng.random() < typo_rate else w for w in tokens]
    tags = ["O"] * len(tokens)

    drugs = [DRUGS[NAMES[k]][int(rng.integers(len(DRUGS[NAMES[k]])))] for k in np.flatnonzero(drug_listed)]
    background = rng.choice(len(BACKGROUND_DRUGS), int(rng.integers(0, 3)), replace=False)
    drugs += [BACKGROUND_DRUGS[i] for i in background]
    if rng.random() < P_HELD:
        drugs.append((_pick(rng, [d for i, d in enumerate(BACKGROUND_DRUGS) if i not in background])[0], HELD))
    rng.shuffle(drugs)
    spans = []
    if drugs:
        tokens += ["medications", ":"]
        tags += ["O", "O"]
        for j, drug in enumerate(drugs):
            words, drug_tags, drug_spans = _medication(drug, len(tokens))
            tokens += words + ([","] if j < len(drugs) - 1 else ["."])
            tags += drug_tags + ["O"]
            spans += drug_spans
    return Note(tokens, tags, labels, contexts, drug_listed, spans)


def generate_notes(n: int, seed: int = 0, typo_rate: float = 0.02) -> list[Note]:
    """``n`` notes, one patient each, deterministic for a seed."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    return [generate_note(rng, typo_rate) for _ in range(n)]


def posterior(context: str, drug_listed: bool) -> float:
    """P(has the condition now | the context of its mention, whether a drug for it is listed)."""
    if drug_listed:
        return 1.0
    present = PREVALENCE * CONTEXT_IF_PRESENT.get(context, 0.0) * (1 - P_DRUG_IF_PRESENT)
    absent = (1 - PREVALENCE) * CONTEXT_IF_ABSENT.get(context, 0.0)
    return present / (present + absent)


def oracle_probability(notes: list[Note]) -> np.ndarray:
    """(n, 8): the exact probability of each label given what the note shows (the ceiling)."""
    return np.array([[posterior(ctx, listed) for ctx, listed in zip(note.contexts, note.drug_listed)]
                     for note in notes])


def labels_of(notes: list[Note]) -> np.ndarray:
    """(n, 8) int labels."""
    return np.stack([note.labels for note in notes])


def contexts_of(notes: list[Note]) -> np.ndarray:
    """(n, 8) array of context names, for reading a model's errors by context."""
    return np.array([note.contexts for note in notes])
