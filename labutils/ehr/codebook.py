"""The integer layout of every code the synthetic generator can emit, and how each part of the state emits it.

``codebook(params)`` (cached per params object) gives a ``CodeBook``: group-level names (``D_`` 3-digit groups,
``RX_``, ``PX_``), the noisy-OR table of the core codes (``parent_p``, ``leak``), the codes of each episode kind
while active (``episode_entries``) and at its follow-up, and the sub-code tables that turn a group into a full
dotted ICD-9 code.
"""
from __future__ import annotations

import numpy as np

from .parameters import PARENTS


class CodeBook:
    """Code layout derived from ``params``."""

    def __init__(self, params: dict):
        core, episodes = params["core"], params["episodes"]
        follow_group, follow_sub = params["follow_up_code"]
        names = list(core)
        for episode in episodes:
            names.append("D_" + episode["group"])
            names.extend(episode["co"])
        names.append(follow_group)
        self.names = list(dict.fromkeys(names))
        self.index = {n: i for i, n in enumerate(self.names)}
        K, F = len(self.names), len(PARENTS)
        self.n_core = len(core)
        self.leak = np.zeros(K)
        self.parent_p = np.zeros((F, K))
        for name, spec in core.items():
            self.leak[self.index[name]] = spec["leak"]
            for parent, p in spec["parents"].items():
                self.parent_p[PARENTS.index(parent), self.index[name]] = p
        # codes of an active episode of kind r: its group with p_group, its co-emitted codes
        p_group = params["episode_coding"]["p_group"]
        rows = [[(self.index["D_" + e["group"]], p_group)] + [(self.index[c], p) for c, p in e["co"].items()]
                for e in episodes]
        self.entry_count = np.array([len(r) for r in rows])
        self.entry_start = np.concatenate([[0], np.cumsum(self.entry_count)[:-1]])
        self.entry_code = np.array([c for r in rows for c, _ in r])
        self.entry_p = np.array([p for r in rows for _, p in r])
        self.follow_up_code = self.index[follow_group]
        # incidental codes: one group per draw, by the episode weights; log P(code absent | a visit) in closed form
        weights = np.array([e["weight"] for e in episodes])
        self.incidental_p = weights / weights.sum()
        self.incidental_code = np.array([self.index["D_" + e["group"]] for e in episodes])
        inc = params["incidental"]
        self.incidental_log_q = np.zeros(K)
        np.add.at(self.incidental_log_q, self.incidental_code, inc["n_max"] * np.log1p(-inc["p"] * self.incidental_p))
        self.hf_code = self.index["D_428"]
        self.kind = np.array([0 if n.startswith("D_") else 1 if n.startswith(("PX_", "P_")) else 2 for n in self.names])
        subs = {name: spec["sub"] for name, spec in core.items() if spec["sub"]}
        subs.update({"D_" + e["group"]: e["sub"] for e in episodes})
        subs[follow_group] = follow_sub
        self.sub_tables = {key: self._flatten(dict(subs, **alt)) for key, alt in
                           (("default", {}), ("ckd", params.get("sub_if_ckd", {})), ("hf", params.get("sub_if_hf", {})))}

    def episode_entries(self, kinds: np.ndarray):
        """(row into ``kinds``, code index, probability) of every code an active episode of each kind may emit."""
        counts = self.entry_count[kinds]
        row = np.repeat(np.arange(len(kinds)), counts)
        flat = np.repeat(self.entry_start[kinds] - np.cumsum(counts) + counts, counts) + np.arange(len(row))
        return row, self.entry_code[flat], self.entry_p[flat]

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
            owner = np.repeat(np.arange(len(start)), count)  # cumulative weights + group index: one sorted array
            pos = np.searchsorted(cum + owner, g + u[sel])
            out[sel] = names[np.clip(pos, start[g], start[g] + count[g] - 1)]
        return out


_CODEBOOKS: dict = {}


def codebook(params: dict) -> CodeBook:
    """The ``CodeBook`` of ``params`` (built once per params object)."""
    key = id(params)
    if key not in _CODEBOOKS or _CODEBOOKS[key][0] is not params:
        _CODEBOOKS[key] = (params, CodeBook(params))
    return _CODEBOOKS[key][1]
