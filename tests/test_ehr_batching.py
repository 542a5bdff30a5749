"""Length buckets and the dict collate: hand-written toy batches (empty visits, code 0), packing, a DataLoader."""
import numpy as np
import pytest
import torch
from torch import nn

from labutils.ehr import LengthBuckets, make_collate

# patient 0: two visits, the second empty; patient 1: one visit; patient 2: duplicates and code 0 at the end
TOY = [[[0, 2], []], [[1]], [[3, 3, 1], [3], [2, 0]]]
TIMES = [[[0.0, 1.0], [30.0, 2.0]], [[0.0, 3.0]], [[0.0, 4.0], [12.5, 5.0], [400.0, 6.0]]]


def multi_hot_for_tests(patients, n_codes):
    """A multi-hot encoder for these tests (the notebook's exercise is written by the student)."""
    t_max = max([len(p) for p in patients] + [0])
    triples = np.array([(n, t, c) for n, p in enumerate(patients) for t, v in enumerate(p) for c in v],
                       dtype=np.int64).reshape(-1, 3)
    x = np.zeros((len(patients), t_max, n_codes), dtype=np.float32)
    x[tuple(triples.T)] = 1.0
    lengths = np.array([len(p) for p in patients], dtype=np.int64)
    return torch.from_numpy(x), torch.from_numpy(np.arange(t_max) < lengths[:, None])


def samples():
    return [{"visits": v, "time": np.array(t), "static": np.array([n, -n], dtype=np.float64), "y": float(n % 2),
             "index": n} for n, (v, t) in enumerate(zip(TOY, TIMES))]


def test_collate_toy_batch_by_hand():
    batch = make_collate(multi_hot_for_tests, 4, per_visit=("time",))(samples())
    assert set(batch) == {"x", "mask", "lengths", "time", "static", "y", "index"}
    x = torch.zeros(3, 3, 4)
    x[0, 0, [0, 2]] = 1
    x[1, 0, 1] = 1
    x[2, 0, [1, 3]] = 1
    x[2, 1, 3] = 1
    x[2, 2, [0, 2]] = 1
    assert torch.equal(batch["x"], x)
    assert batch["mask"].tolist() == [[True, True, False], [True, False, False], [True, True, True]]
    assert batch["lengths"].tolist() == [2, 1, 3] and batch["lengths"].dtype == torch.int64
    time = torch.tensor([[[0, 1], [30, 2], [0, 0]], [[0, 3], [0, 0], [0, 0]], [[0, 4], [12.5, 5], [400, 6]]])
    assert torch.equal(batch["time"], time) and batch["time"].dtype == torch.float32
    assert batch["static"].dtype == torch.float32 and batch["static"].shape == (3, 2)   # float64 -> float32
    assert batch["y"].tolist() == [0.0, 1.0, 0.0] and batch["y"].dtype == torch.float32
    assert batch["index"].tolist() == [0, 1, 2] and batch["index"].dtype == torch.int64


def test_collate_rejects_a_mask_that_miscounts_visits():
    def mask_from_codes(patients, n_codes):   # a classic mistake: an empty visit looks like padding
        x, _ = multi_hot_for_tests(patients, n_codes)
        return x, x.sum(-1) > 0

    with pytest.raises(ValueError, match="patient 0 of the batch"):
        make_collate(mask_from_codes, 4)(samples())


def test_lengths_work_with_pack_padded_sequence():
    """A GRU over the packed batch gives, at each patient's last visit, the state of the GRU run on that patient
    alone: padding never enters the computation."""
    torch.manual_seed(0)
    gru = nn.GRU(4, 5, batch_first=True)
    collate = make_collate(multi_hot_for_tests, 4, per_visit=("time",))
    batch = collate(samples())
    packed = nn.utils.rnn.pack_padded_sequence(batch["x"], batch["lengths"], batch_first=True, enforce_sorted=False)
    _, h = gru(packed)
    for n, sample in enumerate(samples()):
        _, h_alone = gru(collate([sample])["x"])
        torch.testing.assert_close(h[0, n], h_alone[0, 0])


LENGTHS = [5, 1, 3, 3, 8, 1, 2, 5, 3, 1, 7]


def test_buckets_without_shuffle_are_sorted_and_fixed():
    sampler = LengthBuckets(LENGTHS, batch_size=4)
    first, second = list(sampler), list(sampler)
    assert first == second == sampler.batches()
    assert len(sampler) == len(first) == 3 and [len(b) for b in first] == [4, 4, 3]
    assert sorted(i for b in first for i in b) == list(range(len(LENGTHS)))
    flat = [LENGTHS[i] for b in first for i in b]
    assert flat == sorted(LENGTHS)
    assert first[0] == [1, 5, 9, 6]   # stable: equal lengths keep their order


def test_buckets_with_shuffle_group_lengths_and_change_every_epoch():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, 500)
    sampler = LengthBuckets(lengths, batch_size=32, shuffle=True, seed=3)
    unshuffled = LengthBuckets(lengths, batch_size=32).batches()
    epochs = [list(sampler) for _ in range(3)]
    for batches in epochs:
        assert sorted(i for b in batches for i in b) == list(range(500))   # every sample once per epoch
        # as little padding as sorting: with jitter 1 only equal lengths swap, so the batches hold the same
        # lengths as the unshuffled ones
        assert sorted(sorted(lengths[b]) for b in batches) == sorted(sorted(lengths[b]) for b in unshuffled)
    assert epochs[0] != epochs[1] != epochs[2]                            # a new order every epoch
    again = LengthBuckets(lengths, batch_size=32, shuffle=True, seed=3)
    assert [list(again) for _ in range(3)] == epochs                       # deterministic per seed
    other = LengthBuckets(lengths, batch_size=32, shuffle=True, seed=4)
    assert list(other) != epochs[0]
    wide = LengthBuckets(lengths, batch_size=32, shuffle=True, seed=3, jitter=4)
    spread = max(lengths[b].max() - lengths[b].min() for b in unshuffled)
    assert max(lengths[b].max() - lengths[b].min() for b in wide) <= spread + 4   # neighbours up to 4 apart swap


def test_cached_collate_builds_each_batch_once():
    calls = []

    def counting(patients, n_codes):
        calls.append(len(patients))
        return multi_hot_for_tests(patients, n_codes)

    data = samples()
    sampler = LengthBuckets([len(s["visits"]) for s in data], batch_size=2, shuffle=True, seed=0, jitter=0)
    loader = torch.utils.data.DataLoader(data, batch_sampler=sampler, collate_fn=make_collate(
        counting, 4, per_visit=("time",), cache_by="index"))
    plain = make_collate(multi_hot_for_tests, 4, per_visit=("time",))
    for epoch in range(3):
        for batch in loader:
            again = plain([data[i] for i in batch["index"].tolist()])
            assert batch.keys() == again.keys() and all(torch.equal(batch[k], again[k]) for k in batch)
            assert batch["x"].dtype == torch.float32
    assert calls == [2, 1] or calls == [1, 2]   # two fixed batches, each built once over three epochs


def test_collate_names_a_ragged_key():
    with pytest.raises(ValueError, match="per_visit"):
        make_collate(multi_hot_for_tests, 4)(samples())   # "time" has one row per visit


def test_buckets_reject_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        LengthBuckets(LENGTHS, batch_size=0)
    with pytest.raises(ValueError, match="one number per sample"):
        LengthBuckets([[1, 2]], batch_size=2)


def test_in_a_dataloader():
    data = samples() * 3
    sampler = LengthBuckets([len(s["visits"]) for s in data], batch_size=3, shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(data, batch_sampler=sampler,
                                         collate_fn=make_collate(multi_hot_for_tests, 4, per_visit=("time",)))
    batches = list(loader)
    assert len(batches) == 3
    for batch in batches:   # each batch holds one length: no padding at all
        assert batch["mask"].all() and batch["x"].shape[:2] == batch["time"].shape[:2]
        assert (batch["lengths"] == batch["lengths"][0]).all()
    assert sorted(int(i) for b in batches for i in b["index"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
