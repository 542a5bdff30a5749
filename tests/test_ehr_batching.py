"""Padding visit sequences: hand-written toy batches (length-1 patients, empty visits, code 0), packing, collate."""
import functools

import numpy as np
import pytest
import torch
from torch import nn

from labutils.ehr import collate, pad_batch

# patient 0: two visits, the second empty; patient 1: one visit; patient 2: duplicates and code 0 at the end
TOY = [[[0, 2], []], [[1]], [[3, 3, 1], [3], [2, 0]]]
GAPS = [[0.0, 30.0], [0.0], [0.0, 12.5, 400.0]]


def test_toy_batch_by_hand():
    b = pad_batch(TOY, n_codes=4, gaps=GAPS)
    x = np.zeros((3, 3, 4), np.float32)
    x[0, 0, [0, 2]] = 1
    x[1, 0, 1] = 1
    x[2, 0, [1, 3]] = 1
    x[2, 1, 3] = 1
    x[2, 2, [0, 2]] = 1
    np.testing.assert_array_equal(b["x"], x)
    np.testing.assert_array_equal(b["mask"], [[True, True, False], [True, False, False], [True, True, True]])
    np.testing.assert_array_equal(b["lengths"], [2, 1, 3])
    np.testing.assert_array_equal(b["gaps"], np.array([[0, 30, 0], [0, 0, 0], [0, 12.5, 400]], np.float32))
    assert b["x"].dtype == np.float32 and b["mask"].dtype == bool and b["lengths"].dtype == np.int64
    assert b["gaps"].dtype == np.float32
    # the empty visit is a real visit: masked in, although its row of x is all zeros
    assert b["mask"][0, 1] and b["x"][0, 1].sum() == 0
    # without gaps: zeros
    assert pad_batch(TOY, 4)["gaps"].sum() == 0


def test_edge_cases_and_errors():
    b = pad_batch([[[]]], 3)
    assert b["x"].shape == (1, 1, 3) and b["mask"].tolist() == [[True]]
    assert pad_batch([], 3)["x"].shape == (0, 0, 3)
    with pytest.raises(ValueError, match="outside"):
        pad_batch([[[0, 4]]], 4)
    with pytest.raises(ValueError, match="outside"):
        pad_batch([[[-1]]], 4)
    with pytest.raises(ValueError, match="gaps"):
        pad_batch(TOY, 4, gaps=[[0.0], [0.0], [0.0, 1.0, 2.0]])


def test_lengths_work_with_pack_padded_sequence():
    """A GRU over the packed batch gives, at each patient's last visit, the state of the GRU run on that patient
    alone: padding never enters the computation."""
    torch.manual_seed(0)
    gru = nn.GRU(4, 5, batch_first=True)
    b = pad_batch(TOY, 4)
    x, lengths = torch.from_numpy(b["x"]), torch.from_numpy(b["lengths"])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, h = gru(packed)
    for n, patient in enumerate(TOY):
        alone = torch.from_numpy(pad_batch([patient], 4)["x"])
        _, h_alone = gru(alone)
        torch.testing.assert_close(h[0, n], h_alone[0, 0])


def test_collate_in_a_dataloader():
    items = [(seq, gaps, label) for seq, gaps, label in zip(TOY, GAPS, [1, 0, 1])]
    loader = torch.utils.data.DataLoader(items, batch_size=2, collate_fn=functools.partial(collate, n_codes=4))
    batches = list(loader)
    assert len(batches) == 2
    first = batches[0]
    assert first["x"].shape == (2, 2, 4) and first["x"].dtype == torch.float32
    assert first["mask"].dtype == torch.bool and first["lengths"].tolist() == [2, 1]
    assert first["y"].tolist() == [1.0, 0.0] and first["y"].dtype == torch.float32
    assert torch.equal(first["gaps"], torch.tensor([[0.0, 30.0], [0.0, 0.0]]))
    last = batches[1]
    assert last["x"].shape == (1, 3, 4) and last["lengths"].tolist() == [3]
    # items without gaps, vector labels
    plain = collate([(TOY[0], None, np.array([1, 0])), (TOY[1], None, np.array([0, 1]))], n_codes=4)
    assert plain["gaps"].sum() == 0 and plain["y"].shape == (2, 2)
