"""Exact next-visit scores from the generator's latent state: the ceilings of Doctor AI (notebook 06).

- ``emission_probs(synth, patients, months)``: P(code group k is coded at a visit | latent state of that month):
  a noisy-OR over the active parents, the active episodes and follow-ups, and the incidental codes. Ranking the groups of visit t+1 by it
  is the **clairvoyant** oracle: it sees the state at the next visit, including an episode that began after t.
- ``next_visit_given_t(synth, patients, months, codes)``: P(group coded at the NEXT visit | state at visit t),
  integrating over the unknown month of the next visit: the **state-at-t** oracle, the tighter ceiling.
- ``expected_log_gap(synth, patients, months)``: E[log days to the next visit | state at visit t].

The last two propagate the state forward month by month, weighted by "no visit yet": the HF chain's cardiac
part (MI, stage, congestion: ``oracle.Chain``) and every episode kind (inactive / active / follow-up). The
visit rate is a SUM over these parts (``generator.visit_rate``), so the probability of no visit is a product and
the weighted distribution stays a product of the parts: exact, and cheap. What changes slowly or on a fixed
schedule (chronic conditions, acquired conditions, treatment lines, the new-diagnosis and new-stroke windows)
is held at its value at visit t: one of them changes between consecutive visits in about 3.5 % of visit
pairs (``docs/ehr-generator.md``, section 6). The Monte-Carlo tests check the propagation under that rule.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .codebook import codebook
from .generator import core_log_q, episode_status, new_stroke, parent_features
from .oracle import (N_BEFORE_HF, STATE_CONGESTION, STATE_MI, STATE_STAGE, Chain, _static_fn,
                     cardiac_state_index)
from .parameters import DAYS_PER_MONTH, MI_OLD, MI_RECENT, PARENTS, STAGE_B, STAGE_HF

CARDIAC_PARENTS = ("MIr", "MIo", "B", "E", "HF", "HTN&HF", "HTN&B")
INACTIVE, ACTIVE, FOLLOW_UP = 0, 1, 2


def emission_probs(synth, patients, months) -> np.ndarray:
    """P(code group k appears at a visit | latent state of (patient, month)): (n, K) over ``codebook(params).names``.

    Exact: the noisy-OR of the core parents and leaks, of the active episodes' codes and of the follow-up code.
    The HF onset month's visit always has D_428.
    """
    patients, months = np.asarray(patients), np.asarray(months)
    t, params = synth.truth, synth.params
    book = codebook(params)
    log_q = np.zeros((len(patients), len(book.names)))
    log_q[:, :book.n_core] = core_log_q(t, patients, months, params, book)
    log_q += book.incidental_log_q
    row, kind, follow = episode_status(t, patients, months)
    e_row, e_code, e_p = book.episode_entries(kind[~follow])
    np.add.at(log_q, (row[~follow][e_row], e_code), np.log1p(-e_p))
    p_follow = params["episode_coding"]["p_follow_up_code"]
    np.add.at(log_q, (row[follow], np.full(follow.sum(), book.follow_up_code)), np.log1p(-p_follow))
    p = -np.expm1(log_q)
    p[synth.hf_onset_month[patients] == months, book.hf_code] = 1.0
    return p


# ---------------------------------------------------------------------------------------------- propagation
class _EpisodeSlots:
    """The episode kinds that matter for each row, padded to one width: every kind with co-emitted codes (the same
    slots in every row), those active or in follow-up at t, and those whose onset probability over the rest of
    follow-up exceeds ``negligible``. Dropping the others changes no probability by more than ``negligible``."""

    def __init__(self, synth, patients, months, negligible: float = 1e-7):
        t, params = synth.truth, synth.params
        book = codebook(params)
        n, R = len(patients), t["episode_hazard"].shape[1]
        hazard = t["episode_hazard"][patients]
        self.fixed = np.flatnonzero(book.entry_count > 1)
        row, kind, follow = episode_status(t, patients, months)
        wanted = hazard * (synth.months - months)[:, None] > negligible
        wanted[row, kind] = True
        wanted[:, self.fixed] = False
        width = len(self.fixed) + int(wanted.sum(1).max(initial=0))
        self.kind = np.full((n, width), -1)
        self.kind[:, :len(self.fixed)] = self.fixed
        r, k = np.nonzero(wanted)
        position = np.arange(len(r)) - np.searchsorted(r, r)  # rank of each kind within its row
        self.kind[r, len(self.fixed) + position] = k
        real = self.kind >= 0
        safe = np.where(real, self.kind, 0)
        self.p_start = np.where(real, -np.expm1(-np.take_along_axis(hazard, safe, 1)), 0.0)
        p_end = 1.0 / np.array([max(e["mean_months"], 1.0) for e in params["episodes"]])
        self.p_end = np.where(real, p_end[safe], 1.0)
        slot_of = np.full((n, R), -1)
        slot_of[np.nonzero(real)[0], self.kind[real]] = np.nonzero(real)[1]
        self.dist = np.zeros((n, width, 3))
        self.dist[:, :, INACTIVE] = 1.0
        slot = slot_of[row, kind]
        self.dist[row, slot, INACTIVE] = 0.0
        self.dist[row, slot, np.where(follow, FOLLOW_UP, ACTIVE)] = 1.0
        self.real = real


def _episode_step(dist, p_start, p_end, follow_up: bool):
    """One month of every (row, slot) chain: dist (n, S, 3), p_start and p_end (n, S)."""
    inactive, active, follow = dist[..., INACTIVE], dist[..., ACTIVE], dist[..., FOLLOW_UP]
    idle = inactive + follow  # a follow-up month behaves like an inactive one for the next onset
    ended = active * p_end
    new = np.empty_like(dist)
    if follow_up:
        new[..., ACTIVE] = idle * p_start + active - ended
        new[..., INACTIVE] = idle * (1 - p_start)
        new[..., FOLLOW_UP] = ended
    else:  # an episode that ends can start again the next month
        new[..., ACTIVE] = (idle + ended) * p_start + active - ended
        new[..., INACTIVE] = (idle + ended) * (1 - p_start)
        new[..., FOLLOW_UP] = 0.0
    return new


class _CodeTerms:
    """The pieces of P(code c at a visit) that do not change over the gap, for the chosen codes."""

    def __init__(self, synth, patients, months, codes, slots: _EpisodeSlots):
        t, params = synth.truth, synth.params
        book = codebook(params)
        self.codes = np.asarray(codes)
        L = len(self.codes)
        card_cols = [PARENTS.index(f) for f in CARDIAC_PARENTS]
        X = parent_features(t, patients, months, params)
        htn = X[:, PARENTS.index("HTN")].astype(bool)
        X[:, card_cols] = 0.0
        log_p = np.log1p(-np.minimum(book.parent_p[:, self.codes], 1 - 1e-12))
        self.q_held = np.exp(X @ log_p + np.log1p(-book.leak[self.codes]) + book.incidental_log_q[self.codes])
        # cardiac parents of the 15 cardiac states, given HTN: (n, 15, 7) -> Q (n, 15, codes they touch)
        hf, b = STATE_STAGE == STAGE_HF, STATE_STAGE == STAGE_B
        base = np.stack([STATE_MI == MI_RECENT, STATE_MI == MI_OLD, b, STATE_CONGESTION == 1, hf], -1).astype(float)
        card = np.concatenate([np.broadcast_to(base, (len(htn), 15, 5)),
                               (htn[:, None] & hf[None])[..., None], (htn[:, None] & b[None])[..., None]], -1)
        self.card_codes = np.flatnonzero((book.parent_p[card_cols][:, self.codes] > 0).any(0))
        self.q_card = np.exp(card @ log_p[card_cols][:, self.card_codes])  # (n, 15, L_card)
        self.q_onset = self.q_card[:, N_BEFORE_HF:].copy()  # (n, 3 MI, L_card): HF states entered at an onset
        self.q_onset[:, :, self.codes[self.card_codes] == book.hf_code] = 0.0  # the diagnosis visit has D_428
        column = np.full(len(book.names) + 1, L)  # code -> column; L is a dummy column for codes not chosen
        column[self.codes] = np.arange(L)
        # kinds in the fixed slots: all their entries, through a sparse (entries x columns) sum
        fixed_slot = {k: j for j, k in enumerate(slots.fixed)}
        kinds = np.repeat(np.arange(len(book.entry_count)), book.entry_count)
        keep = np.isin(kinds, slots.fixed) & np.isin(book.entry_code, self.codes)
        self.e_slot = np.array([fixed_slot[k] for k in kinds[keep]], dtype=np.int64)
        self.e_p = book.entry_p[keep]
        self.e_matrix = sparse.csr_matrix((np.ones(keep.sum()), (np.arange(keep.sum()), column[book.entry_code[keep]])),
                                          shape=(keep.sum(), L + 1))
        # the other slots emit only their own group, with p_group: one column per slot
        n_fixed = len(slots.fixed)
        group = book.entry_code[book.entry_start]  # each kind's own group (its first entry)
        self.slot_col = np.where(slots.real[:, n_fixed:], column[group[np.maximum(slots.kind[:, n_fixed:], 0)]], L)
        self.n_fixed, self.p_group = n_fixed, params["episode_coding"]["p_group"]
        self.follow_col = column[book.follow_up_code]
        self.p_follow = params["episode_coding"]["p_follow_up_code"]
        self.rows = np.arange(len(patients))[:, None]

    def episode_logs(self, pi, y, g):
        """log E[Q_c] and log (E[Q_c g] / E[g]) over the episode chains (normalised pi (n, S, 3), y = pi @ g)."""
        active = pi[:, self.e_slot, ACTIVE]
        log_b = np.asarray(self.e_matrix.T @ np.log1p(-active * self.e_p).T).T
        log_d = np.asarray(self.e_matrix.T @ np.log1p(-active * self.e_p * g[ACTIVE] / y[:, self.e_slot]).T).T
        active = pi[:, self.n_fixed:, ACTIVE]
        log_b[self.rows, self.slot_col] += np.log1p(-active * self.p_group)
        log_d[self.rows, self.slot_col] += np.log1p(-active * self.p_group * g[ACTIVE] / y[:, self.n_fixed:])
        follow = pi[..., FOLLOW_UP]
        log_b[:, self.follow_col] += np.log1p(-follow * self.p_follow).sum(1)
        log_d[:, self.follow_col] += np.log1p(-follow * self.p_follow * g[FOLLOW_UP] / y).sum(1)
        return log_b[:, :-1], log_d[:, :-1]


def _propagate(synth, patients, months, codes=None, tol: float = 1e-7):
    """P(next visit k months later) (n, M) and, with ``codes``, P(next visit k months later and code c there),
    summed over k: (n, L). Both unnormalised (they sum to P(a next visit before the end of follow-up))."""
    t, params = synth.truth, synth.params
    M, n = synth.months, len(patients)
    st = synth.state_at(patients, months)
    chain = Chain(params, st["chronic"], _static_fn(synth, patients, months), track_chronic=False)
    card = chain.start(st["chronic"], cardiac_state_index(st["mi"], st["stage"], st["congestion"]))
    held_rate = params["visit"]["stroke new"] * new_stroke(t, patients, months, params)
    e_card, e_held = np.exp(-chain.visit_rate[:, 0]), np.exp(-held_rate)  # (n, 15), (n,)
    coding = params["episode_coding"]
    g = np.exp(-np.array([0.0, coding["visit_boost"], coding["follow_up_boost"]]))
    slots = _EpisodeSlots(synth, patients, months, tol)
    episodes = slots.dist
    terms = _CodeTerms(synth, patients, months, codes, slots) if codes is not None else None
    horizon = M - 1 - months
    p_visit = np.zeros((n, M))
    p_code = np.zeros((n, len(codes))) if codes is not None else None
    log_scale = np.zeros(n)
    for k in range(1, int(horizon.max(initial=0)) + 1):
        card, onset = chain.step(card, k - 1)
        onset = onset[:, 0]  # (n, 3): mass entering HF this month (a visit for sure)
        card[:, 0, N_BEFORE_HF:] -= onset
        episodes = _episode_step(episodes, slots.p_start, slots.p_end, coding["follow_up"])
        z = episodes.sum(-1)
        episodes /= z[..., None]
        log_scale += np.log(z).sum(1)
        y = episodes @ g  # (n, R): E[no-visit factor] of each kind
        scale, no_visit_epi = np.exp(log_scale), np.exp(np.log(y).sum(1))
        a = card[:, 0]
        stay = (a * e_card).sum(1) * e_held * no_visit_epi
        p_visit[:, k] = scale * (a.sum(1) + onset.sum(1) - stay)
        if terms is not None:
            log_b, log_d = terms.episode_logs(episodes, y, g)
            reach = a.sum(1) + onset.sum(1)  # P(visit) = reach - stay; for a code: E[(1 - e^-rho)(1 - Q_c)]
            both = (reach - stay)[:, None] - terms.q_held * (reach[:, None] * np.exp(log_b)
                                                             - stay[:, None] * np.exp(log_d))
            c = terms.card_codes  # codes with cardiac parents: sum over the cardiac states instead
            b_card = np.einsum("ns,nsl->nl", a, terms.q_card) + np.einsum("nm,nml->nl", onset, terms.q_onset)
            d_card = np.einsum("ns,nsl->nl", a * e_card, terms.q_card) * (e_held * no_visit_epi)[:, None]
            both[:, c] = (reach - stay)[:, None] - terms.q_held[:, c] * (b_card * np.exp(log_b[:, c])
                                                                       - d_card * np.exp(log_d[:, c]))
            p_code += scale[:, None] * both * (k <= horizon)[:, None]
        # condition on no visit this month
        card[:, 0] = a * e_card * e_held[:, None]
        card[k >= horizon] = 0.0
        episodes *= g
        if (scale * card.sum((1, 2))).max() < tol:
            break
    p_visit *= np.arange(M)[None, :] <= horizon[:, None]
    return p_visit, p_code


def _chunks(months, size):
    """Row indices in chunks of similar month (late months have short horizons: their chunks stop early)."""
    order = np.argsort(months, kind="stable")
    for a in range(0, len(order), size):
        yield order[a:a + size]


def next_visit_distribution(synth, patients, months, chunk: int = 512) -> np.ndarray:
    """P(next visit exactly k months later | state at this month, a next visit before the end): (n, months)."""
    patients, months = np.asarray(patients), np.asarray(months)
    out = np.zeros((len(patients), synth.months))
    for rows in _chunks(months, chunk):
        out[rows] = _propagate(synth, patients[rows], months[rows])[0]
    total = out.sum(1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


def next_visit_given_t(synth, patients, months, codes, chunk: int = 128) -> np.ndarray:
    """P(code group ``codes[j]`` is coded at the next visit | latent state at this visit's month): (n, len(codes)).

    ``codes`` are indices into ``codebook(synth.params).names``. The next visit's month is unknown and integrated
    over; rows without a later visit before the end of follow-up get zeros.
    """
    patients, months = np.asarray(patients), np.asarray(months)
    out = np.zeros((len(patients), len(codes)))
    for rows in _chunks(months, chunk):
        p_visit, p_code = _propagate(synth, patients[rows], months[rows], codes)
        total = p_visit.sum(1, keepdims=True)
        out[rows] = np.divide(p_code, total, out=np.zeros_like(p_code), where=total > 0)
    return np.clip(out, 0.0, 1.0)  # round-off: a difference of products can land at -1e-16


def _log_gap_given_months(start_month, k, day_in_month):
    """E over the next visit's day of log(days between the visits) when the next visit is k months later."""
    d0 = np.round(DAYS_PER_MONTH * start_month).astype(np.int64)
    d1 = np.round(DAYS_PER_MONTH * (start_month + k)).astype(np.int64)
    base = d1 - d0 - np.asarray(day_in_month, dtype=np.int64)  # >= 1; the next visit's day is U{0..29} on top
    table = np.log(np.arange(1, base.max() + 31)[:, None] + np.arange(30)[None, :]).mean(1)
    return table[base - 1]


def expected_log_gap(synth, patients, months, day_in_month=None) -> np.ndarray:
    """E[log(days to the next visit) | latent state at this visit's month, its day, and a next visit existing]."""
    patients, months = np.asarray(patients), np.asarray(months)
    if day_in_month is None:
        day_in_month = synth.truth["visit_day"][patients, months] - np.round(DAYS_PER_MONTH * months)
    pk = next_visit_distribution(synth, patients, months)
    k = np.arange(pk.shape[1])
    g = _log_gap_given_months(months[:, None], np.maximum(k[None, :], 1), np.asarray(day_in_month)[:, None])
    return (pk * g).sum(1)
