"""Medication-instruction shorthand and its plain-language reading, from a small deterministic grammar.

Prescriptions write their directions in a clipped, Latin-flavoured shorthand that pharmacists expand
for the patient: ``1 tab PO BID x7d`` becomes "take 1 tablet by mouth twice daily for 7 days". The
grammar here generates such pairs, so that a sequence-to-sequence model can be trained and scored by
exact match without downloading anything. An instruction is one or more **steps**:

- a step is a dose (``1/2``, ``1``, ``2`` …) and a dose form (``tab``, ``gtt``, ``units`` …), a route
  (``PO``, ``OU``, ``SC`` …) and a frequency (``BID``, ``q6h``, ``QHS`` …);
- a single step may add a meal timing (``AC``/``PC``, by mouth only), a duration (``x7d``, ``x2wk``),
  an as-needed reason that suits the route (``PRN pain``; ``PRN SOB`` only for an inhaler) and, with it,
  a daily maximum (``max 4/d``);
- a **taper** is 2 or more steps with the same form and route, each with its own dose, frequency and
  duration, joined by ``, then``, in order of decreasing amount per day.

The plain reading follows the shorthand word by word (the task is monotone) but is longer and needs
agreement: the verb depends on the route ("take" by mouth, "instil" in the eye, "inject" under the
skin), the noun on the dose ("1 tablet", "2 tablets", "half a tablet").

**Held-out combinations.** A *combination* is (dose form, route, frequency). ``held_out_combinations``
reserves a fraction of them (chosen by ``seed``) for the test split: training and validation pairs
never contain one, every test pair contains at least one. Every (form, route) keeps at least three
frequencies in training and every frequency at least three (form, route) pairs, so the parts are all
seen in training, only not together: test accuracy measures whether a model composes parts it knows.

``make_splits`` returns the three splits; ``Vocab`` maps tokens to integer ids with ``<pad>`` = 0,
``<bos>``, ``<eos>`` and ``<unk>``; ``collate_pairs`` turns a list of encoded pairs into a dict batch
for ``labutils.training.fit``. Everything is a pure function of its arguments (no global random state).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# dose form -> (singular noun, plural noun, doses, routes)
FORMS = {
    "tab": ("tablet", "tablets", ("1/2", "1", "2", "3"), ("PO", "SL")),
    "cap": ("capsule", "capsules", ("1", "2", "3"), ("PO",)),
    "mL": ("mL", "mL", ("1", "2", "5", "10"), ("PO", "IM")),
    "gtt": ("drop", "drops", ("1", "2", "3"), ("OD", "OS", "OU")),
    "puff": ("puff", "puffs", ("1", "2", "4"), ("INH",)),
    "units": ("unit", "units", ("4", "6", "8", "10", "12"), ("SC",)),
    "patch": ("patch", "patches", ("1", "2"), ("TD",)),
    "supp": ("suppository", "suppositories", ("1",), ("PR",)),
}
# route -> (verb, words after the dose)
ROUTES = {
    "PO": ("take", ("by", "mouth")),
    "SL": ("dissolve", ("under", "the", "tongue")),
    "IM": ("inject", ("into", "the", "muscle")),
    "SC": ("inject", ("under", "the", "skin")),
    "OD": ("instil", ("in", "the", "right", "eye")),
    "OS": ("instil", ("in", "the", "left", "eye")),
    "OU": ("instil", ("in", "both", "eyes")),
    "INH": ("inhale", ("from", "the", "inhaler")),
    "TD": ("apply", ("to", "the", "skin")),
    "PR": ("insert", ("into", "the", "rectum")),
}
# frequency: shorthand text -> (shorthand tokens, plain tokens)
FREQUENCIES = {
    "QD": (("QD",), ("once", "daily")),
    "BID": (("BID",), ("twice", "daily")),
    "TID": (("TID",), ("three", "times", "daily")),
    "QID": (("QID",), ("four", "times", "daily")),
    "q4h": (("q", "4", "h"), ("every", "4", "hours")),
    "q6h": (("q", "6", "h"), ("every", "6", "hours")),
    "q8h": (("q", "8", "h"), ("every", "8", "hours")),
    "q12h": (("q", "12", "h"), ("every", "12", "hours")),
    "QHS": (("QHS",), ("at", "bedtime")),
    "QAM": (("QAM",), ("every", "morning")),
    "QOD": (("QOD",), ("every", "other", "day")),
    "QWK": (("QWK",), ("once", "a", "week")),
}
MEALS = {"AC": ("before", "meals"), "PC": ("after", "meals")}
# duration unit -> (singular, plural, largest count)
DURATIONS = {"d": ("day", "days", 14), "wk": ("week", "weeks", 8), "mo": ("month", "months", 6)}
REASONS = {
    "pain": ("pain",), "HA": ("headache",), "N/V": ("nausea", "or", "vomiting"),
    "SOB": ("shortness", "of", "breath"), "CP": ("chest", "pain"), "fever": ("fever",),
    "itch": ("itching",), "wheeze": ("wheezing",), "anxiety": ("anxiety",), "insomnia": ("sleep",),
}
# the as-needed reasons that make sense for each route (no eye drops for shortness of breath)
REASONS_BY_ROUTE = {
    "PO": ("pain", "HA", "N/V", "fever", "itch", "anxiety", "insomnia"),
    "SL": ("CP", "N/V", "anxiety"),
    "IM": ("pain", "N/V"),
    "SC": ("pain", "N/V"),
    "OD": ("itch", "pain"), "OS": ("itch", "pain"), "OU": ("itch", "pain"),
    "INH": ("SOB", "wheeze"),
    "TD": ("pain", "N/V"),
    "PR": ("fever", "N/V", "pain"),
}

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"


def combinations() -> list[tuple[str, str, str]]:
    """Every (dose form, route, frequency) the grammar allows, in a fixed order."""
    return [(form, route, freq) for form, (_, _, _, routes) in FORMS.items() for route in routes
            for freq in FREQUENCIES]


def held_out_combinations(fraction: float = 0.2, seed: int = 0) -> frozenset:
    """A random ``fraction`` of the combinations, reserved for the test split.

    Drawn so that every (form, route) pair keeps at least 3 frequencies in training and every
    frequency keeps at least 3 (form, route) pairs: each part stays learnable, only some of its
    combinations are new at test time.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}.")
    combos = combinations()
    rng = np.random.default_rng(seed)
    target = int(round(fraction * len(combos)))
    held: set = set()
    for k in rng.permutation(len(combos)):
        form, route, freq = combos[k]
        freqs_left = sum((form, route, f) not in held for f in FREQUENCIES)
        pairs_left = sum((fo, ro, fr) not in held for fo, ro, fr in combos if fr == freq)
        if freqs_left > 3 and pairs_left > 3 and len(held) < target:
            held.add(combos[k])
    return frozenset(held)


@dataclass(frozen=True)
class Pair:
    """One instruction: shorthand and plain tokens, display texts, number of steps and combinations used."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    source_text: str
    target_text: str
    steps: int
    combos: frozenset


def _dose_words(dose: str, form: str) -> tuple[str, ...]:
    singular, plural = FORMS[form][:2]
    if dose == "1/2":
        return ("half", "a", singular)
    return (dose, singular if dose == "1" else plural)


def _pick(rng, options):
    options = list(options)
    return options[rng.integers(len(options))]


def _render_step(form, route, dose, freq, meal=None, duration=None, reason=None, most=None):
    """One step -> (shorthand tokens, shorthand text pieces, plain tokens)."""
    verb, where = ROUTES[route]
    src, text = [dose, form, route, *FREQUENCIES[freq][0]], [dose, form, route, freq]
    tgt = [verb, *_dose_words(dose, form), *where, *FREQUENCIES[freq][1]]
    if meal:
        src.append(meal), text.append(meal), tgt.extend(MEALS[meal])
    if duration:
        n, unit = duration
        singular, plural, _ = DURATIONS[unit]
        src += ["x", n, unit]
        text.append(f"x{n}{unit}")
        tgt += ["for", n, singular if n == "1" else plural]
    if reason:
        src += ["PRN", reason]
        text += ["PRN", reason]
        tgt += ["as", "needed", "for", *REASONS[reason]]
    if most:
        src += ["max", most, "/d"]
        text.append(f"max {most}/d")
        tgt += [",", "no", "more", "than", most, "doses", "a", "day"]
    return src, text, tgt


def _duration(rng, units=tuple(DURATIONS)):
    unit = _pick(rng, units)
    return str(rng.integers(1, DURATIONS[unit][2] + 1)), unit


def _amount_per_day(dose: str, freq: str) -> float:
    return (0.5 if dose == "1/2" else float(dose)) * DOSES_PER_DAY[freq]


# doses per day of each frequency, used to order the steps of a taper from the most to the least
DOSES_PER_DAY = {"QD": 1, "BID": 2, "TID": 3, "QID": 4, "q4h": 6, "q6h": 4, "q8h": 3, "q12h": 2, "QHS": 1,
                 "QAM": 1, "QOD": 0.5, "QWK": 1 / 7}
AS_NEEDED_FREQUENCIES = ("q4h", "q6h", "q8h", "q12h", "QD", "BID", "TID", "QID", "QHS")


def random_instruction(rng, max_steps: int = 3) -> Pair:
    """One random instruction with 1 to ``max_steps`` steps (uniform), drawn with the generator ``rng``.

    A single step may carry a meal timing, a duration, an as-needed reason (with an as-needed
    frequency) and a daily maximum. A taper's steps use daily frequencies and durations in days or
    weeks, and come in order of decreasing amount per day, as a taper does.
    """
    steps = int(rng.integers(1, max_steps + 1))
    form, route = _pick(rng, [(f, r) for f, (_, _, _, routes) in FORMS.items() for r in routes])
    doses = FORMS[form][2]
    if steps == 1:
        as_needed = rng.random() < 0.3
        freq = _pick(rng, AS_NEEDED_FREQUENCIES if as_needed else FREQUENCIES)
        meal = _pick(rng, MEALS) if route == "PO" and rng.random() < 0.3 else None
        duration = _duration(rng) if rng.random() < 0.6 else None
        reason = _pick(rng, REASONS_BY_ROUTE[route]) if as_needed else None
        most = str(rng.integers(2, 9)) if as_needed and rng.random() < 0.5 else None
        parts = [((_pick(rng, doses), freq), meal, duration, reason, most)]
    else:
        daily = [f for f in FREQUENCIES if f != "QWK"]
        plan = [(_pick(rng, doses), _pick(rng, daily)) for _ in range(steps)]
        plan.sort(key=lambda df: -_amount_per_day(*df))
        parts = [(df, None, _duration(rng, ("d", "wk")), None, None) for df in plan]
    src, text, tgt = [], [], []
    for k, ((dose, freq), meal, duration, reason, most) in enumerate(parts):
        s_, t_, g_ = _render_step(form, route, dose, freq, meal, duration, reason, most)
        if k:
            src += [",", "then"]
            tgt += [",", "then"]
            text[-1] += ","
            text.append("then")
        src, text, tgt = src + s_, text + t_, tgt + g_
    combos = frozenset((form, route, freq) for (_, freq), *_ in parts)
    return Pair(tuple(src), tuple(tgt), " ".join(text), detokenize(tgt), steps, combos)


def detokenize(tokens) -> str:
    """Plain tokens -> a sentence: words joined by spaces, no space before a comma."""
    return " ".join(tokens).replace(" ,", ",")


def make_splits(n_train: int, n_val: int, n_test: int, seed: int = 0, max_steps: int = 3,
                held_out_fraction: float = 0.2) -> dict[str, list[Pair]]:
    """Train, validation and test pairs; deterministic given the arguments.

    Train and validation use only the seen combinations; every test pair uses at least one held-out
    combination (``held_out_combinations(held_out_fraction, seed)``). Validation and test pairs are
    distinct from every training pair and from each other (by shorthand; training pairs may repeat,
    as common instructions do). Each split holds the same number of pairs with 1, 2, … ``max_steps``
    steps (up to rounding), so every split covers the same range of lengths.
    """
    held = held_out_combinations(held_out_fraction, seed)
    rng = np.random.default_rng([seed, 1])
    quota = {(name, k): n // max_steps + (k <= n % max_steps)
             for name, n in (("train", n_train), ("val", n_val), ("test", n_test)) for k in range(1, max_steps + 1)}
    out: dict[str, list[Pair]] = {"train": [], "val": [], "test": []}
    used: set = set()
    budget = 500 * (n_train + n_val + n_test) + 10_000
    while any(quota.values()):
        budget -= 1
        if budget < 0:
            raise RuntimeError("make_splits: could not draw enough distinct pairs; ask for fewer.")
        pair = random_instruction(rng, max_steps)
        if pair.combos & held:
            split = "test"
        else:
            split = "train" if quota[("train", pair.steps)] else "val"
        if not quota[(split, pair.steps)] or (split != "train" and pair.source in used):
            continue
        out[split].append(pair)
        used.add(pair.source)
        quota[(split, pair.steps)] -= 1
    return out


class Vocab:
    """Tokens <-> integer ids. Id 0 is ``<pad>``; ``<bos>``, ``<eos>`` and ``<unk>`` follow, then the tokens
    in order of first appearance."""

    def __init__(self, sequences):
        self.tokens = [PAD, BOS, EOS, UNK]
        self.index = {t: i for i, t in enumerate(self.tokens)}
        for seq in sequences:
            for token in seq:
                if token not in self.index:
                    self.index[token] = len(self.tokens)
                    self.tokens.append(token)

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token) -> bool:
        return token in self.index

    def encode(self, tokens) -> list[int]:
        return [self.index.get(t, self.unk_id) for t in tokens]

    def decode(self, ids, strip: bool = True) -> list[str]:
        """Ids -> tokens; with ``strip``, stop at the first ``<eos>`` and drop ``<bos>`` and ``<pad>``."""
        out = []
        for i in ids:
            i = int(i)
            if strip and i == self.eos_id:
                break
            if strip and i in (self.pad_id, self.bos_id):
                continue
            out.append(self.tokens[i])
        return out


def encode_pairs(pairs, src_vocab: Vocab, tgt_vocab: Vocab) -> list[dict]:
    """Sample dicts for ``collate_pairs``: ``src`` ids, ``tgt`` ids (no ``<bos>``/``<eos>``), ``index``."""
    return [{"src": src_vocab.encode(p.source), "tgt": tgt_vocab.encode(p.target), "index": k}
            for k, p in enumerate(pairs)]


def collate_pairs(samples, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2) -> dict:
    """A list of sample dicts -> one dict batch of int64 tensors, padded with ``pad_id``:

    - ``src`` (N, S) and ``src_lengths`` (N,): the shorthand ids (S = longest in the batch);
    - ``tgt_in`` (N, T): ``<bos>`` then the plain ids, what the decoder reads under teacher forcing;
    - ``tgt_out`` (N, T): the plain ids then ``<eos>``, what it must predict (T = longest target + 1);
    - ``index`` (N,): each pair's position in its split.
    """
    import torch

    samples = list(samples)
    n = len(samples)
    s_max = max(len(s["src"]) for s in samples)
    t_max = max(len(s["tgt"]) for s in samples) + 1
    src = torch.full((n, s_max), pad_id, dtype=torch.int64)
    tgt_in = torch.full((n, t_max), pad_id, dtype=torch.int64)
    tgt_out = torch.full((n, t_max), pad_id, dtype=torch.int64)
    for row, s in enumerate(samples):
        src[row, :len(s["src"])] = torch.tensor(s["src"], dtype=torch.int64)
        tgt_in[row, :len(s["tgt"]) + 1] = torch.tensor([bos_id, *s["tgt"]], dtype=torch.int64)
        tgt_out[row, :len(s["tgt"]) + 1] = torch.tensor([*s["tgt"], eos_id], dtype=torch.int64)
    return {"src": src, "src_lengths": torch.tensor([len(s["src"]) for s in samples], dtype=torch.int64),
            "tgt_in": tgt_in, "tgt_out": tgt_out,
            "index": torch.tensor([s["index"] for s in samples], dtype=torch.int64)}
