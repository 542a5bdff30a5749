"""Medical codes: ICD-9 helpers (dotting, 3-digit grouping, the heart-failure codes) and the ``Vocabulary``
that maps codes to the integer indices models see.

Codes are strings with a prefix: ``D_<dotted ICD-9>`` (diagnoses), ``P_``/``PX_`` (procedures), ``RX_`` (drugs).
``build_vocabulary`` groups ICD-9 diagnoses to 3 digits (the Doctor AI rule: E-codes keep 4 characters) and
orders codes by frequency, so index 0 is the most frequent code (a real code, never padding).
"""
from __future__ import annotations

from collections import Counter

# Qualifying ICD-9 codes for heart failure (Choi et al. 2017, appendix; undotted form).
HF_ICD9_CODES = frozenset(
    ["39891", "40201", "40211", "40291", "40401", "40403", "40411", "40413", "40491", "40493",
     "4280", "4281", "4289"]
    + [f"428{a}{b}" for a in "234" for b in "0123"])


def _icd9_body(code: str) -> str:
    """'D_428.0' -> '4280' (prefix and dot removed, upper case)."""
    body = code[2:] if code.startswith("D_") else code
    return body.replace(".", "").strip().upper()


def icd9_dotted(raw: str) -> str:
    """Undotted ICD-9 diagnosis code -> dotted: '4280' -> '428.0', 'E8801' -> 'E880.1', 'V103' -> 'V10.3'.

    Codes already dotted, or with nothing after the group ('428'), are returned unchanged (stripped).
    """
    raw = str(raw).strip().upper()
    if "." in raw:
        return raw
    cut = 4 if raw.startswith("E") else 3
    return raw if len(raw) <= cut else f"{raw[:cut]}.{raw[cut:]}"


def group_icd9(code: str) -> str:
    """3-digit group of a ``D_`` code (E-codes keep 4 characters); other codes are returned unchanged.

    >>> group_icd9("D_428.0"), group_icd9("D_E880.1"), group_icd9("D_V10.3"), group_icd9("D_4280")
    ('D_428', 'D_E880', 'D_V10', 'D_428')
    """
    if not code.startswith("D_"):
        return code
    body = _icd9_body(code)
    return "D_" + body[: 4 if body.startswith("E") else 3]


def is_hf_code(code: str) -> bool:
    """True for a qualifying ICD-9 heart-failure diagnosis ('D_428.0', 'D_402.91', '4280'); needs the FULL code."""
    if code.startswith(("P_", "PX_", "RX_")):
        return False
    return _icd9_body(code) in HF_ICD9_CODES


class Vocabulary:
    """Code <-> integer index. Index 0 is the most frequent code (a real code, not padding).

    ``map(code)`` applies the grouping (3-digit ICD-9 when ``grouped``); ``index(code)`` accepts a vocabulary
    entry or a raw code that maps to one and raises KeyError otherwise.
    """

    def __init__(self, codes, grouped: bool = True, prefixes=("D_",), counts=None):
        self.codes = list(codes)
        self.grouped = grouped
        self.prefixes = tuple(prefixes) if prefixes is not None else None
        self.counts = dict(counts) if counts is not None else {}
        self._index = {c: i for i, c in enumerate(self.codes)}
        if len(self._index) != len(self.codes):
            raise ValueError("Vocabulary codes must be unique.")
        self._lookup = None

    def __len__(self) -> int:
        return len(self.codes)

    def __contains__(self, code) -> bool:
        return code in self._index or self.map(code) in self._index

    def __repr__(self) -> str:
        head = ", ".join(self.codes[:5])
        return f"Vocabulary({len(self)} codes, grouped={self.grouped}: {head}{', ...' if len(self) > 5 else ''})"

    def keeps(self, code: str) -> bool:
        """True when ``code``'s prefix is one this vocabulary covers."""
        return self.prefixes is None or code.startswith(self.prefixes)

    def map(self, code: str) -> str:
        """The grouping applied to a raw code ('D_428.0' -> 'D_428' when grouped; unchanged otherwise)."""
        return group_icd9(code) if self.grouped else code

    def index(self, code: str) -> int:
        if code in self._index:
            return self._index[code]
        mapped = self.map(code)
        if mapped in self._index and self.keeps(code):
            return self._index[mapped]
        raise KeyError(f"code {code!r} (grouped: {mapped!r}) is not in the vocabulary of {len(self)} codes")

    def lookup_table(self) -> dict:
        """A dict raw-code -> index that grows as new raw codes are seen (fast path for ``sequences``)."""
        if self._lookup is None:
            self._lookup = _LookupTable(self)
        return self._lookup


class _LookupTable(dict):
    """dict raw code -> index; ``in`` computes and caches the mapping of raw codes seen for the first time."""

    def __init__(self, vocab: Vocabulary):
        super().__init__()
        self._vocab = vocab
        self._missing = set()

    def __contains__(self, code) -> bool:
        if dict.__contains__(self, code):
            return True
        if code in self._missing:
            return False
        try:
            self[code] = self._vocab.index(code)
            return True
        except KeyError:
            self._missing.add(code)
            return False


def build_vocabulary(cohort: "EHRCohort", grouped: bool = True, prefixes=("D_",), min_count: int = 1) -> Vocabulary:
    """Vocabulary of the (grouped) codes whose prefix is in ``prefixes`` (None = all) seen in >= ``min_count`` visits.

    Sorted by descending frequency (number of visits containing the code), then by name.
    """
    prefixes = tuple(prefixes) if prefixes is not None else None
    counter: Counter = Counter()
    mapper = group_icd9 if grouped else (lambda c: c)
    for codes in cohort.visits["codes"]:
        counter.update({mapper(c) for c in codes if prefixes is None or c.startswith(prefixes)})
    items = sorted((c for c in counter.items() if c[1] >= min_count), key=lambda kv: (-kv[1], kv[0]))
    return Vocabulary([c for c, _ in items], grouped=grouped, prefixes=prefixes, counts=dict(items))
