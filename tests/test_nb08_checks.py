"""Notebook 08's exercise checks accept every correct answer and reject the usual mistakes.

For each exercise: (1) the notebook's own solution passes its check cell; (2) at least two correct
versions written differently pass too (Counter or pandas instead of a dict loop, NumPy or
``F.nll_loss`` instead of ``gather``, float32 arithmetic, lists instead of tuples); (3) every listed
mistake is rejected with an AssertionError: ``<unk>``/``<pad>`` at the wrong index or counted as tokens,
perplexity averaged per note instead of per token or over the padding, spans off by one, and two
adjacent entities of the same type merged (plus a few more mistakes students make).

The library cells are tested where the notebook's claims rest on them (packing, n-gram tables, span
scores, sampling), and so is the generator's "held" drug that section 4 relies on. A slow test runs
the whole notebook in FAST mode with each set of correct versions substituted for the solutions.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labutils.clinical_notes import BACKGROUND_DRUGS, generate_notes
from labutils.notebook_code import (cell_source, execute_with_solutions, load_notebook, run_check,
                                    variant_source)

NB = "08_clinical_text"


@pytest.fixture(scope="module")
def nb():
    return load_notebook(NB)


# ----------------------------------------------------------------------------- build_vocabulary
# Correct versions: each is self-contained, so the slow test can paste its source into the notebook.
def vocabulary_with_counter(token_lists, min_count):
    """collections.Counter, one sort on (-count, token), ids from enumerate."""
    from collections import Counter

    counts = Counter(t for tokens in token_lists for t in tokens if t not in ("<pad>", "<unk>"))
    ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return {"<pad>": 0, "<unk>": 1, **{t: i for i, t in enumerate(ranked, start=2)}}


def vocabulary_two_stable_sorts(token_lists, min_count):
    """Specials removed after counting; alphabetical sort, then a stable sort by count (reverse keeps ties)."""
    counts = {}
    for tokens in token_lists:
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
    counts.pop("<pad>", None)
    counts.pop("<unk>", None)
    kept = sorted(t for t, c in counts.items() if c >= min_count)
    kept.sort(key=counts.get, reverse=True)
    return dict(zip(["<pad>", "<unk>", *kept], range(len(kept) + 2)))


def vocabulary_with_pandas(token_lists, min_count):
    """pandas value_counts; the order rebuilt from a DataFrame sorted on two columns."""
    import pandas as pd

    flat = [t for tokens in token_lists for t in tokens if t not in ("<pad>", "<unk>")]
    counts = pd.Series(flat, dtype=object).value_counts()
    table = pd.DataFrame({"token": counts.index, "count": counts.values})
    table = table[table["count"] >= min_count].sort_values(["count", "token"], ascending=[False, True])
    vocab = {"<pad>": 0, "<unk>": 1}
    vocab.update({t: 2 + i for i, t in enumerate(table["token"])})
    return vocab


def _ranked(token_lists, min_count, count_specials=False, key=None, strict=False, per_note=False):
    counts = Counter()
    for tokens in token_lists:
        for t in (set(tokens) if per_note else tokens):
            if count_specials or t not in ("<pad>", "<unk>"):
                counts[t] += 1
    kept = [t for t, c in counts.items() if (c > min_count if strict else c >= min_count)]
    return sorted(kept, key=key or (lambda t: (-counts[t], t))), counts


def vocabulary_specials_swapped(token_lists, min_count):
    kept, _ = _ranked(token_lists, min_count)
    return {"<unk>": 0, "<pad>": 1, **{t: i for i, t in enumerate(kept, 2)}}


def vocabulary_numbered_from_one(token_lists, min_count):
    kept, _ = _ranked(token_lists, min_count)
    return {"<pad>": 0, **{t: i for i, t in enumerate(kept, 1)}, "<unk>": len(kept) + 1}


def vocabulary_specials_counted(token_lists, min_count):
    """Counts "<pad>"/"<unk>" like words and numbers them again: their ids move."""
    kept, _ = _ranked(token_lists, min_count, count_specials=True)
    vocab = {"<pad>": 0, "<unk>": 1}
    for t in kept:
        vocab[t] = len(vocab)
    return vocab


def vocabulary_specials_leave_gaps(token_lists, min_count):
    """Counted specials keep 0 and 1, but their places in the ranking are skipped: ids with gaps."""
    kept, _ = _ranked(token_lists, min_count, count_specials=True)
    vocab = {"<pad>": 0, "<unk>": 1}
    for i, t in enumerate(kept, 2):
        vocab.setdefault(t, i)
    return vocab


def vocabulary_strict_min_count(token_lists, min_count):
    kept, _ = _ranked(token_lists, min_count, strict=True)
    return {"<pad>": 0, "<unk>": 1, **{t: i for i, t in enumerate(kept, 2)}}


def vocabulary_ties_first_seen(token_lists, min_count):
    """Counter.most_common: ties in order of first appearance, not alphabetical."""
    counts = Counter(t for tokens in token_lists for t in tokens if t not in ("<pad>", "<unk>"))
    kept = [t for t, c in counts.most_common() if c >= min_count]
    return {"<pad>": 0, "<unk>": 1, **{t: i for i, t in enumerate(kept, 2)}}


def vocabulary_ascending(token_lists, min_count):
    _, counts = _ranked(token_lists, min_count)
    kept, _ = _ranked(token_lists, min_count, key=lambda t: (counts[t], t))
    return {"<pad>": 0, "<unk>": 1, **{t: i for i, t in enumerate(kept, 2)}}


def vocabulary_note_counts(token_lists, min_count):
    """Counts the notes a token occurs in, not its occurrences."""
    kept, _ = _ranked(token_lists, min_count, per_note=True)
    return {"<pad>": 0, "<unk>": 1, **{t: i for i, t in enumerate(kept, 2)}}


WRONG_VOCABULARIES = {
    "<unk> and <pad> swapped": vocabulary_specials_swapped,
    "tokens numbered from 1, <unk> last": vocabulary_numbered_from_one,
    "<pad>/<unk> counted and renumbered": vocabulary_specials_counted,
    "<pad>/<unk> counted, ids with gaps": vocabulary_specials_leave_gaps,
    "count > min_count instead of >=": vocabulary_strict_min_count,
    "ties in order of first appearance": vocabulary_ties_first_seen,
    "ascending counts": vocabulary_ascending,
    "notes counted instead of occurrences": vocabulary_note_counts,
}


def test_vocabulary_check_accepts_the_solution(nb):
    run_check(NB, "build_vocabulary", build_vocabulary=nb.build_vocabulary)


@pytest.mark.parametrize("version", [vocabulary_with_counter, vocabulary_two_stable_sorts, vocabulary_with_pandas],
                         ids=["Counter", "two stable sorts", "pandas"])
def test_vocabulary_check_accepts_other_correct_versions(version):
    run_check(NB, "build_vocabulary", build_vocabulary=version)


@pytest.mark.parametrize("mistake", list(WRONG_VOCABULARIES))
def test_vocabulary_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "build_vocabulary", build_vocabulary=WRONG_VOCABULARIES[mistake])


# ----------------------------------------------------------------------------- perplexity
def perplexity_nll_loss(log_probs, targets, mask):
    """PyTorch's nll_loss on the real positions, computed in float32."""
    import math

    import torch.nn.functional as F

    return math.exp(F.nll_loss(log_probs.float()[mask], targets[mask]).item())


def perplexity_numpy(log_probs, targets, mask):
    """NumPy: take_along_axis, masked sum divided by the number of real tokens."""
    import numpy as np

    lp, tg, real = log_probs.detach().cpu().numpy(), targets.cpu().numpy(), mask.cpu().numpy()
    picked = np.take_along_axis(lp, tg[..., None], axis=2)[..., 0]
    return float(np.exp(-np.where(real, picked, 0.0).sum() / real.sum()))


def perplexity_one_hot_float32(log_probs, targets, mask):
    """float32 one-hot product, weights from the mask."""
    import torch
    import torch.nn.functional as F

    chosen = (log_probs.float() * F.one_hot(targets, log_probs.shape[-1]).float()).sum(dim=-1)
    weights = mask.float()
    return float(torch.exp(-(chosen * weights).sum() / weights.sum()))


def _token_log_probs(log_probs, targets):
    return log_probs.gather(2, targets.unsqueeze(2)).squeeze(2)


def perplexity_per_note(log_probs, targets, mask):
    """Mean NLL of each note first, then the mean over notes: every note weighs the same."""
    picked = _token_log_probs(log_probs, targets)
    per_note = -(picked * mask).sum(1) / mask.sum(1)
    return math.exp(per_note.mean().item())


def perplexity_mean_of_note_perplexities(log_probs, targets, mask):
    picked = _token_log_probs(log_probs, targets)
    return torch.exp(-(picked * mask).sum(1) / mask.sum(1)).mean().item()


def perplexity_with_padding(log_probs, targets, mask):
    return math.exp(-_token_log_probs(log_probs, targets).mean().item())


def perplexity_divided_by_all_positions(log_probs, targets, mask):
    return math.exp(-(_token_log_probs(log_probs, targets) * mask).sum().item() / mask.numel())


def perplexity_mask_from_targets(log_probs, targets, mask):
    """Ignores the mask and takes target 0 ("<pad>") as padding."""
    real = targets != 0
    return math.exp(-_token_log_probs(log_probs, targets)[real].mean().item())


def perplexity_without_exp(log_probs, targets, mask):
    return -_token_log_probs(log_probs, targets)[mask].mean().item()


def perplexity_sign_error(log_probs, targets, mask):
    return math.exp(_token_log_probs(log_probs, targets)[mask].mean().item())


def perplexity_summed(log_probs, targets, mask):
    return math.exp(-_token_log_probs(log_probs, targets)[mask].sum().item())


WRONG_PERPLEXITIES = {
    "averaged per note": perplexity_per_note,
    "mean of the notes' perplexities": perplexity_mean_of_note_perplexities,
    "padding included": perplexity_with_padding,
    "divided by all positions": perplexity_divided_by_all_positions,
    "mask taken from targets != 0": perplexity_mask_from_targets,
    "mean NLL without exp": perplexity_without_exp,
    "exp of the mean log-probability": perplexity_sign_error,
    "exp of the summed NLL": perplexity_summed,
}


def test_perplexity_check_accepts_the_solution(nb):
    run_check(NB, "perplexity", perplexity=nb.perplexity)


@pytest.mark.parametrize("version", [perplexity_nll_loss, perplexity_numpy, perplexity_one_hot_float32],
                         ids=["nll_loss float32", "numpy", "one-hot float32"])
def test_perplexity_check_accepts_other_correct_versions(version):
    run_check(NB, "perplexity", perplexity=version)


@pytest.mark.parametrize("mistake", list(WRONG_PERPLEXITIES))
def test_perplexity_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "perplexity", perplexity=WRONG_PERPLEXITIES[mistake])


# ----------------------------------------------------------------------------- bio_to_spans
def spans_state_machine(tags):
    """An explicit open span (kind, start), closed when the next tag cannot continue it; lists as spans."""
    spans, open_span = [], None
    for i, tag in enumerate(list(tags) + ["O"]):
        kind = tag[2:]
        if open_span is not None and not (tag.startswith("I-") and kind == open_span[0]):
            spans.append([open_span[0], open_span[1], i])
            open_span = None
        if tag != "O" and open_span is None:
            open_span = (kind, i)
    return spans


def spans_by_boundaries(tags):
    """Marks where spans start, then walks forward over their continuations."""
    tags = list(tags)
    starts = [i for i, tag in enumerate(tags)
              if tag != "O" and (tag[0] == "B" or i == 0 or tags[i - 1] == "O" or tags[i - 1][2:] != tag[2:])]
    spans = []
    for start in starts:
        end = start + 1
        while end < len(tags) and tags[end] == "I-" + tags[start][2:]:
            end += 1
        spans.append((tags[start][2:], start, end))
    return spans


def _spans(tags, inclusive=False, shift_start=0, merge_same_type=False, drop_orphans=False,
           ignore_type=False, keep_prefix=False, close_last=True):
    spans, current = [], None
    for i, tag in enumerate(tags):
        kind = tag[2:]
        continues = current is not None and (ignore_type or current[0] == kind) and (
            tag.startswith("I-") or (merge_same_type and tag.startswith("B-")))
        if tag == "O":
            if current:
                spans.append(current)
            current = None
        elif continues:
            current = (current[0], current[1], i + 1)
        elif tag.startswith("I-") and drop_orphans:
            if current:
                spans.append(current)
            current = None
        else:
            if current:
                spans.append(current)
            current = (tag if keep_prefix else kind, i, i + 1)
    if current and close_last:
        spans.append(current)
    return [(k, s + shift_start, e - 1 if inclusive else e) for k, s, e in spans]


WRONG_SPANS = {
    "end inclusive (off by one)": lambda tags: _spans(tags, inclusive=True),
    "start off by one": lambda tags: _spans(tags, shift_start=1),
    "adjacent same-type entities merged": lambda tags: _spans(tags, merge_same_type=True),
    "I- after O dropped": lambda tags: _spans(tags, drop_orphans=True),
    "I-X continues a span of another type": lambda tags: _spans(tags, ignore_type=True),
    "last span never closed": lambda tags: _spans(tags, close_last=False),
    "type keeps its B- prefix": lambda tags: _spans(tags, keep_prefix=True),
}


def test_span_helper_without_mistakes_is_correct():
    """The mistake factory with every switch off is a correct bio_to_spans (so each switch is the mistake)."""
    run_check(NB, "bio_to_spans", bio_to_spans=_spans)


def test_spans_check_accepts_the_solution(nb):
    run_check(NB, "bio_to_spans", bio_to_spans=nb.bio_to_spans)


@pytest.mark.parametrize("version", [spans_state_machine, spans_by_boundaries], ids=["state machine", "boundaries"])
def test_spans_check_accepts_other_correct_versions(version):
    run_check(NB, "bio_to_spans", bio_to_spans=version)


@pytest.mark.parametrize("mistake", list(WRONG_SPANS))
def test_spans_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "bio_to_spans", bio_to_spans=WRONG_SPANS[mistake])


# ----------------------------------------------------------------------------- library cells
def test_packed_encoder_reads_each_note_alone(nb):
    """TextEncoder + collate: a note's states in a padded batch are those of the note alone (both directions)."""
    notes = generate_notes(6, seed=4)
    vocab = nb.build_vocabulary([n.tokens for n in notes], 1)
    samples = nb.note_samples(notes, vocab)
    batch = nb.collate(samples)
    torch.manual_seed(0)
    encoder = nb.TextEncoder(len(vocab), 5, 4, bidirectional=True).eval()
    with torch.no_grad():
        states = encoder(batch["tokens"], batch["lengths"])
        for n, sample in enumerate(samples):
            alone = encoder(sample["tokens"][None], torch.tensor([len(sample["tokens"])]))[0]
            torch.testing.assert_close(states[n, :len(sample["tokens"])], alone, rtol=0, atol=1e-6)
    assert batch["mask"].sum().item() == sum(len(n.tokens) for n in notes)


def test_ngram_tables_are_distributions_and_uniform_perplexity_is_V(nb):
    notes = generate_notes(40, seed=5)
    vocab = nb.build_vocabulary([[nb.BOS, *n.tokens, nb.EOS] for n in notes], 1)
    samples = nb.lm_samples(notes, vocab)
    unigram, bigram = nb.ngram_log_probs(samples, len(vocab), 0.5)
    torch.testing.assert_close(unigram.exp().sum(), torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(bigram.exp().sum(1), torch.ones(len(vocab), dtype=torch.float64))
    V = len(vocab)
    uniform = nb.perplexity_by_group(lambda b: torch.full((*b["tokens"].shape, V), -math.log(V)), samples, batch_size=7)
    assert all(abs(value - V) < 1e-6 * V for value in uniform.values())
    # batch perplexities combined with token weights equal one pass over all tokens
    one_pass = nb.perplexity_by_group(lambda b: bigram[b["tokens"]], samples, batch_size=1000)["all"]
    batched = nb.perplexity_by_group(lambda b: bigram[b["tokens"]], samples, batch_size=3)["all"]
    assert abs(one_pass - batched) < 1e-9 * one_pass


def test_span_scores_by_hand(nb):
    truth = [["B-DRUG", "B-DOSE", "I-DOSE", "O"], ["B-DRUG", "O"]]
    guess = [["B-DRUG", "B-DOSE", "O", "O"], ["B-DRUG", "B-DRUG"]]
    scores = nb.span_scores(truth, guess)            # correct: 2 of 4 predicted, 2 of 3 true
    assert (scores["precision"], scores["recall"]) == (0.5, 2 / 3)
    assert abs(scores["f1"] - 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3)) < 1e-12
    assert nb.span_scores(truth, guess, "DOSE")["f1"] == 0.0


def test_sampling_at_temperature_zero_is_the_argmax(nb):
    notes = generate_notes(30, seed=6)
    vocab = nb.build_vocabulary([[nb.BOS, *n.tokens, nb.EOS] for n in notes], 1)
    torch.manual_seed(0)
    model = nb.LanguageModel(len(vocab), 8, 8)
    greedy, distributions = nb.sample_note(model, vocab, temperature=0, max_len=15)
    assert nb.sample_note(model, vocab, temperature=1e-4, seed=3, max_len=15)[0] == greedy
    words = sorted(vocab, key=vocab.get)
    assert [words[int(d.argmax())] for d in distributions][:len(greedy)] == greedy
    torch.testing.assert_close(distributions.sum(1), torch.ones(len(distributions)))


# ----------------------------------------------------------------------------- the generator's held drugs
def test_held_drugs_are_untagged_background_drugs():
    """Section 4 relies on it: "X held" is a background drug, tagged O, never also listed as taken."""
    background = {drug for drug, *_ in BACKGROUND_DRUGS}
    held_count = 0
    for note in generate_notes(400, seed=7):
        for i, token in enumerate(note.tokens):
            if token != "held":
                continue
            held_count += 1
            name = next(d for d in background if note.tokens[i - len(d.split()):i] == d.split())
            assert set(note.tags[i - len(name.split()):i + 1]) == {"O"}
            taken = [" ".join(note.tokens[s:e]) for kind, s, e in note.spans if kind == "DRUG"]
            assert name not in taken
    assert 0.3 < held_count / 400 < 0.5


# ----------------------------------------------------------------------------- the notebook downstream
VARIANTS = {  # two sets of correct versions, pasted into the solution cells
    "independent": {"build_vocabulary": vocabulary_with_counter, "perplexity": perplexity_numpy,
                    "bio_to_spans": spans_state_machine},
    "float32 and pandas": {"build_vocabulary": vocabulary_with_pandas, "perplexity": perplexity_one_hot_float32,
                           "bio_to_spans": spans_by_boundaries},
}


@pytest.mark.slow
@pytest.mark.parametrize("which", list(VARIANTS))
def test_notebook_runs_with_correct_versions(which):
    """Every exercise replaced by a correct version written differently, the notebook runs in FAST mode
    through its last section (every section uses an exercise downstream): every assertion holds."""
    sources = {grade_id: variant_source(grade_id, fn) for grade_id, fn in VARIANTS[which].items()}
    execute_with_solutions(NB, sources, until="## Summary")


# ----------------------------------------------------------------------------- without the hidden tests
def run_visible_check(grade_id, **definitions):
    """The check cell as a student sees it (hidden tests removed), run against ``definitions``."""
    source = cell_source(NB, f"{grade_id}-check").split("### BEGIN HIDDEN TESTS")[0]
    namespace = {"np": np, "torch": torch, "nn": torch.nn, "F": F, "math": math, **definitions}
    exec(compile(source, f"{grade_id}-check (visible)", "exec"), namespace)


@pytest.mark.parametrize("grade_id, mistakes", [("build_vocabulary", WRONG_VOCABULARIES),
                                                ("perplexity", WRONG_PERPLEXITIES), ("bio_to_spans", WRONG_SPANS)],
                         ids=["build_vocabulary", "perplexity", "bio_to_spans"])
def test_every_mistake_is_caught_without_the_hidden_tests(grade_id, mistakes):
    """A student who runs the check cell sees every listed mistake rejected, not only the grader."""
    for mistake, version in mistakes.items():
        with pytest.raises(AssertionError):
            run_visible_check(grade_id, **{grade_id: version})
