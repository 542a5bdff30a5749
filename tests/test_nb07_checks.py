"""Notebook 07's check cells accept correct answers written differently and reject the classic mistakes."""
import heapq
import math

import pytest
import torch
import torch.nn.functional as F

from labutils.notebook_code import load_notebook, run_check

NB = "07_seq2seq_attention"


@pytest.fixture(scope="module")
def solution():
    return load_notebook(NB)


# ---------------------------------------------------------------------------------- masked_token_loss
def loss_ignore_index(logits, targets, pad_id):
    """Correct: PyTorch's cross-entropy with ignore_index on the flattened batch."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id)


def loss_loop(logits, targets, pad_id):
    """Correct: a loop over the real tokens, one log-softmax at a time."""
    total, count = 0.0, 0
    for n in range(targets.shape[0]):
        for t in range(targets.shape[1]):
            if targets[n, t] != pad_id:
                total = total - torch.log_softmax(logits[n, t], dim=0)[targets[n, t]]
                count += 1
    return total / count


def loss_over_padding(logits, targets, pad_id):
    """Wrong: the padded positions are averaged in."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def loss_per_sequence_first(logits, targets, pad_id):
    """Wrong: the mean of each sequence first, then the mean over sequences."""
    ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    real = (targets != pad_id).float()
    return ((ce * real).sum(1) / real.sum(1)).mean()


def loss_pad_is_zero(logits, targets, pad_id):
    """Wrong: id 0 masked whatever pad_id says."""
    return loss_ignore_index(logits, targets, 0)


def loss_sum(logits, targets, pad_id):
    """Wrong: a sum over the real tokens, not a mean."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id,
                           reduction="sum")


def loss_softmax_over_time(logits, targets, pad_id):
    """Wrong: the softmax runs over the time axis instead of the vocabulary."""
    log_probs = torch.log_softmax(logits, dim=1)
    picked = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    real = targets != pad_id
    return -(picked * real).sum() / real.sum()


def loss_detached(logits, targets, pad_id):
    """Wrong: the right number, cut off from the graph."""
    return loss_ignore_index(logits.detach(), targets, pad_id)


def test_masked_token_loss_accepts(solution):
    for correct in (solution.masked_token_loss, loss_ignore_index, loss_loop):
        run_check(NB, "masked_token_loss", masked_token_loss=correct)


@pytest.mark.parametrize("wrong", [loss_over_padding, loss_per_sequence_first, loss_pad_is_zero, loss_sum,
                                   loss_softmax_over_time, loss_detached])
def test_masked_token_loss_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "masked_token_loss", masked_token_loss=wrong)


# ---------------------------------------------------------------------------------- beam_search
def beam_open_and_ended(step_fn, bos_id, eos_id, beam_width, max_len):
    """Correct, written differently: a heap of open hypotheses and a separate list of ended ones.

    Keeping beam_width OPEN hypotheses besides the ended ones explores more, but can never return a
    different answer: an ended hypothesis outranks every open one it displaced, and extending an open
    one only lowers its score.
    """
    open_, ended = [(0.0, [bos_id])], []
    while open_:
        grown = []
        for score, tokens in open_:
            log_probs = step_fn(tokens).tolist()
            for token, log_p in enumerate(log_probs):
                grown.append((score + log_p, tokens + [token]))
        grown = heapq.nlargest(beam_width, grown, key=lambda c: c[0])
        best_ended = max((s for s, _ in ended), default=-math.inf)
        open_ = []
        for score, tokens in grown:
            if tokens[-1] == eos_id or len(tokens) - 1 == max_len:
                ended.append((score, tokens))
            elif score > best_ended:
                open_.append((score, tokens))
        ended = heapq.nlargest(beam_width, ended, key=lambda c: c[0])
        best = ended[0][0] if ended else -math.inf
        open_ = [c for c in open_ if c[0] > best][:beam_width]
    tokens = max(ended, key=lambda c: c[0])[1][1:]
    return tokens[:-1] if tokens and tokens[-1] == eos_id else tokens


def beam_matrix(step_fn, bos_id, eos_id, beam_width, max_len):
    """Correct, written differently: scores of all (hypothesis, token) pairs in one tensor, one topk."""
    hyps, scores, ended = [[bos_id]], torch.zeros(1, dtype=torch.float64), [False]
    while not all(ended):
        rows = []
        for h, done in zip(hyps, ended):
            if done:
                row = torch.full((1,), -math.inf, dtype=torch.float64)  # placeholder, replaced below
            else:
                row = step_fn(h).double()
            rows.append(row)
        V = max(len(r) for r in rows)
        table = torch.full((len(hyps), V + 1), -math.inf, dtype=torch.float64)
        for i, (row, done) in enumerate(zip(rows, ended)):
            if done:
                table[i, V] = scores[i]                     # column V: "stay as it is"
            else:
                table[i, :len(row)] = scores[i] + row
        k = min(beam_width, int(torch.isfinite(table).sum()))
        best = torch.topk(table.flatten(), k)
        new_hyps, new_ended = [], []
        for flat in best.indices.tolist():
            i, token = divmod(flat, V + 1)
            if token == V:
                new_hyps.append(hyps[i])
                new_ended.append(True)
            else:
                h = hyps[i] + [token]
                new_hyps.append(h)
                new_ended.append(token == eos_id or len(h) - 1 == max_len)
        hyps, scores, ended = new_hyps, best.values, new_ended
    tokens = hyps[int(torch.argmax(scores))][1:]
    return tokens[:-1] if tokens and tokens[-1] == eos_id else tokens


def beam_fixed_width(step_fn, bos_id, eos_id, beam_width, max_len):
    """Wrong: the width is ignored (always 3)."""
    return beam_matrix(step_fn, bos_id, eos_id, 3, max_len)


def beam_exhaustive(step_fn, bos_id, eos_id, beam_width, max_len):
    """Wrong: the width is ignored (everything is kept)."""
    return beam_matrix(step_fn, bos_id, eos_id, 10 ** 6, max_len)


def beam_extends_ended(step_fn, bos_id, eos_id, beam_width, max_len):
    """Wrong: hypotheses that emitted <eos> keep being extended until max_len."""
    beam = [(0.0, [bos_id])]
    for _ in range(max_len):
        grown = [(s + lp, t + [tok]) for s, t in beam for tok, lp in enumerate(step_fn(t).tolist())]
        beam = heapq.nlargest(beam_width, grown, key=lambda c: c[0])
    tokens = beam[0][1][1:]
    return tokens[:tokens.index(eos_id)] if eos_id in tokens else tokens


def beam_last_step(step_fn, bos_id, eos_id, beam_width, max_len):
    """Wrong: hypotheses ranked by the probability of their last token only."""
    beam = [(0.0, 0.0, [bos_id], False)]      # (rank key, total score, tokens, ended)
    while not all(b[3] for b in beam):
        grown = []
        for key, score, tokens, done in beam:
            if done:
                grown.append((key, score, tokens, True))
                continue
            for tok, lp in enumerate(step_fn(tokens).tolist()):
                t = tokens + [tok]
                grown.append((lp, score + lp, t, tok == eos_id or len(t) - 1 == max_len))
        beam = heapq.nlargest(beam_width, grown, key=lambda c: c[0])
    tokens = max(beam, key=lambda c: c[1])[2][1:]
    return tokens[:-1] if tokens and tokens[-1] == eos_id else tokens


def beam_length_normalised(step_fn, bos_id, eos_id, beam_width, max_len):
    """Wrong: ranks by the mean log-probability per token."""
    beam = [(0.0, [bos_id], False)]
    mean = lambda c: c[0] / max(len(c[1]) - 1, 1)  # noqa: E731
    while not all(b[2] for b in beam):
        grown = []
        for score, tokens, done in beam:
            if done:
                grown.append((score, tokens, True))
                continue
            for tok, lp in enumerate(step_fn(tokens).tolist()):
                t = tokens + [tok]
                grown.append((score + lp, t, tok == eos_id or len(t) - 1 == max_len))
        beam = heapq.nlargest(beam_width, grown, key=mean)
    tokens = max(beam, key=mean)[1][1:]
    return tokens[:-1] if tokens and tokens[-1] == eos_id else tokens


def beam_keeps_eos(step_fn, bos_id, eos_id, beam_width, max_len):
    """Wrong: the answer still ends with <eos>."""
    tokens = beam_matrix(step_fn, bos_id, eos_id, beam_width, max_len)
    return tokens + [eos_id] if len(tokens) < max_len else tokens


def beam_returns_tensor(step_fn, bos_id, eos_id, beam_width, max_len):
    """Wrong type: a tensor instead of a list of ints."""
    return torch.tensor(beam_matrix(step_fn, bos_id, eos_id, beam_width, max_len))


def test_beam_search_accepts(solution):
    for correct in (solution.beam_search, beam_open_and_ended, beam_matrix):
        run_check(NB, "beam_search", beam_search=correct)


@pytest.mark.parametrize("wrong", [beam_fixed_width, beam_exhaustive, beam_extends_ended, beam_last_step,
                                   beam_length_normalised, beam_keeps_eos, beam_returns_tensor])
def test_beam_search_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "beam_search", beam_search=wrong)


# ---------------------------------------------------------------------------------- additive_attention
def attention_einsum(query, keys, mask, W_q, W_k, v):
    """Correct, written differently: einsum, a large negative number instead of -inf."""
    e = torch.einsum("nsa,a->ns", torch.tanh(torch.einsum("ah,nh->na", W_q, query)[:, None]
                                             + torch.einsum("ah,nsh->nsa", W_k, keys)), v)
    weights = torch.softmax(torch.where(mask, e, torch.full_like(e, -1e30)), dim=-1)
    return torch.einsum("ns,nsh->nh", weights, keys), weights


def attention_loop(query, keys, mask, W_q, W_k, v):
    """Correct, written differently: one row at a time over its real positions only."""
    contexts, weights = [], torch.zeros(mask.shape, dtype=keys.dtype)
    for n in range(len(query)):
        real = keys[n][mask[n]]
        w = torch.softmax(torch.tanh(W_q @ query[n] + real @ W_k.T) @ v, dim=0)
        weights = weights.index_put((torch.full((len(w),), n), torch.nonzero(mask[n])[:, 0]), w)
        contexts.append(w @ real)
    return torch.stack(contexts), weights


def attention_no_mask(query, keys, mask, W_q, W_k, v):
    """Wrong: the softmax runs over the padded positions too."""
    scores = torch.tanh((query @ W_q.T)[:, None] + keys @ W_k.T) @ v
    weights = torch.softmax(scores, dim=1)
    return (weights[..., None] * keys).sum(1), weights


def attention_mask_after(query, keys, mask, W_q, W_k, v):
    """Wrong: the padding is zeroed after the softmax, so the weights no longer sum to 1."""
    _, weights = attention_no_mask(query, keys, mask, W_q, W_k, v)
    weights = weights * mask
    return (weights[..., None] * keys).sum(1), weights


def attention_wrong_axis(query, keys, mask, W_q, W_k, v):
    """Wrong: the softmax runs over the batch axis."""
    scores = (torch.tanh((query @ W_q.T)[:, None] + keys @ W_k.T) @ v).masked_fill(~mask, -math.inf)
    weights = torch.nan_to_num(torch.softmax(scores, dim=0))
    return (weights[..., None] * keys).sum(1), weights


def attention_no_tanh(query, keys, mask, W_q, W_k, v):
    """Wrong: the tanh is missing (a bilinear-free linear score)."""
    scores = (((query @ W_q.T)[:, None] + keys @ W_k.T) @ v).masked_fill(~mask, -math.inf)
    weights = torch.softmax(scores, dim=1)
    return (weights[..., None] * keys).sum(1), weights


def test_additive_attention_accepts(solution):
    for correct in (solution.additive_attention, attention_einsum, attention_loop):
        run_check(NB, "additive_attention", additive_attention=correct)


@pytest.mark.parametrize("wrong", [attention_no_mask, attention_mask_after, attention_wrong_axis, attention_no_tanh])
def test_additive_attention_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "additive_attention", additive_attention=wrong)


# ---------------------------------------------------------------------------------- retain_contributions
def contributions_einsum(alpha, beta, W_emb, w_out, x):
    """Correct, written differently: one einsum."""
    return torch.einsum("j,jm,m,mk,jk->jk", alpha, beta, w_out, W_emb, x)


def contributions_loop(alpha, beta, W_emb, w_out, x):
    """Correct, written differently: a loop over visits and present codes."""
    omega = torch.zeros(x.shape)
    for j in range(x.shape[0]):
        for k in torch.nonzero(x[j])[:, 0].tolist():
            omega[j, k] = alpha[j] * torch.dot(w_out, beta[j] * W_emb[:, k]) * x[j, k]
    return omega


def contributions_no_beta(alpha, beta, W_emb, w_out, x):
    """Wrong: beta left out."""
    return alpha[:, None] * (w_out @ W_emb)[None, :] * x


def contributions_no_alpha(alpha, beta, W_emb, w_out, x):
    """Wrong: alpha left out."""
    return ((beta * w_out) @ W_emb) * x


def contributions_no_mask(alpha, beta, W_emb, w_out, x):
    """Wrong: the multi-hot mask left out (absent codes contribute too)."""
    return alpha[:, None] * ((beta * w_out) @ W_emb)


def test_retain_contributions_accepts(solution):
    for correct in (solution.retain_contributions, contributions_einsum, contributions_loop):
        run_check(NB, "retain_contributions", retain_contributions=correct)


@pytest.mark.parametrize("wrong", [contributions_no_beta, contributions_no_alpha, contributions_no_mask])
def test_retain_contributions_rejects(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "retain_contributions", retain_contributions=wrong)
