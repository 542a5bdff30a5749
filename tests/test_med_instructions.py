"""The medication-instruction grammar: deterministic, held-out combinations only in the test split,
readings that agree with the shorthand, and batches the decoder can read."""
import numpy as np
import pytest
import torch

from labutils import med_instructions as mi


@pytest.fixture(scope="module")
def splits():
    return mi.make_splits(1200, 200, 300, seed=3)


def test_same_arguments_same_pairs():
    a, b = mi.make_splits(60, 20, 20, seed=5), mi.make_splits(60, 20, 20, seed=5)
    assert a == b
    c = mi.make_splits(60, 20, 20, seed=6)
    assert [p.source for p in a["train"]] != [p.source for p in c["train"]]


def test_sizes_and_steps_are_balanced(splits):
    assert [len(splits[k]) for k in ("train", "val", "test")] == [1200, 200, 300]
    for name, pairs in splits.items():
        counts = np.bincount([p.steps for p in pairs], minlength=4)[1:]
        assert counts.max() - counts.min() <= 1, f"{name}: pairs per number of steps {counts}"


def test_held_out_combinations_only_in_test(splits):
    held = mi.held_out_combinations(seed=3)
    assert all(p.combos & held for p in splits["test"])
    assert not any(p.combos & held for name in ("train", "val") for p in splits[name])


def test_held_out_combinations_leave_every_part_learnable():
    for seed in range(5):
        held = mi.held_out_combinations(0.2, seed)
        combos = mi.combinations()
        assert abs(len(held) - round(0.2 * len(combos))) <= 1
        for form, route in {(f, r) for f, r, _ in combos}:
            seen = [q for f, r, q in combos if (f, r) == (form, route) and (f, r, q) not in held]
            assert len(seen) >= 3, f"seed {seed}: {form} {route} keeps only {seen}"
        for freq in mi.FREQUENCIES:
            seen = [(f, r) for f, r, q in combos if q == freq and (f, r, q) not in held]
            assert len(seen) >= 3, f"seed {seed}: {freq} keeps only {seen}"
    with pytest.raises(ValueError):
        mi.held_out_combinations(1.5)


def test_every_test_token_is_known_from_training(splits):
    src, tgt = mi.Vocab(p.source for p in splits["train"]), mi.Vocab(p.target for p in splits["train"])
    for p in splits["val"] + splits["test"]:
        assert all(t in src for t in p.source), p.source_text
        assert all(t in tgt for t in p.target), p.target_text


def test_validation_and_test_are_new_inputs(splits):
    train = {p.source for p in splits["train"]}
    val, test = [p.source for p in splits["val"]], [p.source for p in splits["test"]]
    assert not (train & set(val)) and not (train & set(test)) and not (set(val) & set(test))
    assert len(set(val)) == len(val) and len(set(test)) == len(test)


def test_texts_agree_with_tokens(splits):
    for p in splits["train"][:300]:
        assert p.source_text.replace(" ", "") == "".join(p.source).replace(" ", "")
        assert p.target_text == mi.detokenize(p.target)
        assert p.target_text.count(", then") == p.steps - 1


def test_readings_follow_the_grammar():
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(2000):
        p = mi.random_instruction(rng)
        if p.steps != 1:
            continue
        dose, form, route = p.source[:3]
        verb, where = mi.ROUTES[route]
        singular, plural = mi.FORMS[form][:2]
        noun = ("half", "a", singular) if dose == "1/2" else (dose, singular if dose == "1" else plural)
        assert p.target[:1 + len(noun) + len(where)] == (verb, *noun, *where), p.source_text
        seen += 1
    assert seen > 500


def test_examples_read_as_a_pharmacist_would():
    rng = np.random.default_rng(1)
    pairs = [mi.random_instruction(rng) for _ in range(3000)]
    by_text = {p.source_text: p.target_text for p in pairs}
    found = {s: t for s, t in by_text.items() if s.startswith("1 tab PO BID")}
    assert found and all(t.startswith("take 1 tablet by mouth twice daily") for t in found.values())
    q6h = [t for s, t in by_text.items() if " q6h" in s and ", then" not in s]
    assert q6h and all("every 6 hours" in t for t in q6h)
    one_day = [t for s, t in by_text.items() if "x1d" in s and ", then" not in s]
    assert one_day and all("for 1 day" in t and "for 1 days" not in t for t in one_day)


def test_taper_steps_decrease_in_amount_per_day():
    rng = np.random.default_rng(2)
    for _ in range(500):
        p = mi.random_instruction(rng)
        if p.steps < 2:
            continue
        steps = " ".join(p.source).split(", then")
        amounts = []
        for step in steps:
            tokens = step.split()
            freq = next(f for f, (short, _) in mi.FREQUENCIES.items()
                        if " ".join(short) in " ".join(tokens[3:3 + len(short)]))
            amounts.append(mi._amount_per_day(tokens[0], freq))
        assert amounts == sorted(amounts, reverse=True), p.source_text


def test_vocab_round_trip():
    vocab = mi.Vocab([["take", "1", "tablet"], ["take", "2"]])
    assert vocab.tokens[:4] == [mi.PAD, mi.BOS, mi.EOS, mi.UNK] and len(vocab) == 8
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.encode(["take", "2", "never-seen"]) == [4, 7, vocab.unk_id]
    assert vocab.decode([vocab.bos_id, *vocab.encode(["take", "1"]), vocab.eos_id, 5]) == ["take", "1"]
    assert vocab.decode([1, 4, 2], strip=False) == [mi.BOS, "take", mi.EOS]


def test_collate_pairs_shapes_and_shifts(splits):
    src, tgt = mi.Vocab(p.source for p in splits["train"]), mi.Vocab(p.target for p in splits["train"])
    samples = mi.encode_pairs(splits["val"][:5], src, tgt)
    batch = mi.collate_pairs(samples)
    n, s_max, t_max = 5, max(len(s["src"]) for s in samples), max(len(s["tgt"]) for s in samples) + 1
    assert batch["src"].shape == (n, s_max) and batch["tgt_in"].shape == batch["tgt_out"].shape == (n, t_max)
    for row, s in enumerate(samples):
        L = len(s["tgt"])
        assert batch["src_lengths"][row] == len(s["src"])
        assert batch["src"][row, :len(s["src"])].tolist() == s["src"]
        assert torch.all(batch["src"][row, len(s["src"]):] == 0)
        assert batch["tgt_in"][row, :L + 1].tolist() == [tgt.bos_id, *s["tgt"]]
        assert batch["tgt_out"][row, :L + 1].tolist() == [*s["tgt"], tgt.eos_id]
        assert torch.all(batch["tgt_out"][row, L + 1:] == 0) and torch.all(batch["tgt_in"][row, L + 1:] == 0)
    assert batch["index"].tolist() == [0, 1, 2, 3, 4]


def test_as_needed_reasons_suit_the_route():
    assert set(mi.REASONS_BY_ROUTE) == set(mi.ROUTES)
    assert all(set(reasons) <= set(mi.REASONS) for reasons in mi.REASONS_BY_ROUTE.values())
    rng = np.random.default_rng(4)
    for _ in range(2000):
        p = mi.random_instruction(rng)
        if "PRN" in p.source:
            route, reason = p.source[2], p.source[p.source.index("PRN") + 1]
            assert reason in mi.REASONS_BY_ROUTE[route], p.source_text
