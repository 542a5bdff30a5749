"""labutils.clinical_notes: generated notes are deterministic, consistent with their truth, and the
oracle's probabilities match what the generator does."""
import numpy as np
import pytest

from labutils.clinical_notes import (CONDITIONS, NAMES, TAG_TYPES, contexts_of, generate_notes, labels_of,
                                     oracle_probability, posterior)


@pytest.fixture(scope="module")
def notes():
    return generate_notes(3000, seed=1)


def test_deterministic_per_seed():
    a, b, c = generate_notes(50, seed=3), generate_notes(50, seed=3), generate_notes(50, seed=4)
    assert [n.tokens for n in a] == [n.tokens for n in b]
    assert [n.tokens for n in a] != [n.tokens for n in c]


def test_contexts_agree_with_labels(notes):
    y, ctx = labels_of(notes), contexts_of(notes)
    assert y[ctx == "current"].all()
    for absent in ("negated", "history", "family"):
        assert not y[ctx == absent].any(), absent
    assert 0.2 < y.mean() < 0.3


def test_drugs_only_for_active_conditions(notes):
    listed = np.stack([n.drug_listed for n in notes])
    assert not listed[labels_of(notes) == 0].any()
    assert 0.5 < listed[labels_of(notes) == 1].mean() < 0.7


def test_tags_align_and_spans_are_medications(notes):
    for note in notes[:300]:
        assert len(note.tags) == len(note.tokens)
        assert len(note.spans) == sum(tag.startswith("B-") for tag in note.tags)
        for kind, start, end in note.spans:
            assert kind in TAG_TYPES and 0 <= start < end <= len(note.tokens)
            assert note.tags[start:end] == [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
    drugs = [n.tokens[s] for n in notes[:300] for kind, s, _ in n.spans if kind == "DRUG"]
    assert "apixaban" in drugs or "sertraline" in drugs


def test_a_bag_of_words_is_fooled_by_construction(notes):
    """The words for a condition appear in many notes of patients who do not have it."""
    y = labels_of(notes)
    k = NAMES.index("deep vein thrombosis")
    mentions = np.array([any(form in n.text for form in CONDITIONS[NAMES[k]]) for n in notes])
    assert mentions[y[:, k] == 0].mean() > 0.3


def test_oracle_matches_monte_carlo(notes):
    """Among notes with a given observable (context, no drug), the share with the condition equals the posterior."""
    y, ctx, p = labels_of(notes), contexts_of(notes), oracle_probability(notes)
    listed = np.stack([n.drug_listed for n in notes])
    assert (p[listed] == 1).all()
    for context in ("uncertain", "none"):
        cell = (ctx == context) & ~listed
        observed = y[cell].mean()
        se = np.sqrt(posterior(context, False) * (1 - posterior(context, False)) / cell.sum())
        assert abs(observed - posterior(context, False)) < 4 * se + 1e-9, context


def test_bad_size():
    with pytest.raises(ValueError, match="at least 1"):
        generate_notes(0)
