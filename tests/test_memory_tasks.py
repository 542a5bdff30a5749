"""labutils.memory_tasks: the marked-symbol task keeps its promises; the runner trains what it is given."""
import numpy as np
import pytest
import torch
from torch import nn

from labutils.memory_tasks import MemoryRun, marked_symbol_task, memory_dataset, train_memory_model
from labutils.metrics import accuracy
from labutils.models import SequenceClassifier, set_lstm_gate_biases


def test_marked_symbol_task():
    X, y = marked_symbol_task(200, lag=7, n_classes=4, n_distractors=2, seed=3)
    assert X.shape == (200, 8, 7) and X.dtype == np.float32 and y.dtype == np.int64
    assert (X[:, :, :6].sum(-1) == 1).all()               # one symbol per step
    assert (X[np.arange(200), 0, y] == 1).all()            # the marked step shows the class
    assert (X[:, 0, 6] == 1).all() and (X[:, 1:, 6] == 0).all()   # marker at step 0 only
    assert X[:, 1:, :4].sum() > 0                          # class symbols also appear as noise
    assert set(np.unique(y)) == {0, 1, 2, 3}
    X2, y2 = marked_symbol_task(200, lag=7, n_classes=4, n_distractors=2, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_marked_symbol_task_lag_zero_and_bad_input():
    X, y = marked_symbol_task(5, lag=0, seed=1)
    assert X.shape == (5, 1, 9) and (X[np.arange(5), 0, y] == 1).all()
    with pytest.raises(ValueError, match="lag=-1"):
        marked_symbol_task(3, lag=-1)


def test_memory_dataset_matches_the_task():
    data = memory_dataset(6, lag=4, seed=9)
    X, y = marked_symbol_task(6, 4, seed=9)
    assert torch.equal(data.tensors[0], torch.from_numpy(X)) and torch.equal(data.tensors[1], torch.from_numpy(y))


def test_accuracy():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0], [0.1, 0.2]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)


SMALL = dict(n_hidden=8, n_train=256, n_test=128, batch_size=64, epochs=2)


def test_runner_returns_a_trained_model_and_is_reproducible():
    run = train_memory_model("lstm", lag=3, **SMALL)
    assert isinstance(run, MemoryRun) and isinstance(run.model, SequenceClassifier)
    assert len(run.history) == 2 and {"train_loss", "val_accuracy"} <= set(run.history.columns)
    assert 0.0 <= run.test_accuracy <= 1.0
    again = train_memory_model("lstm", lag=3, **SMALL)
    assert again.test_accuracy == run.test_accuracy
    for p, q in zip(run.model.parameters(), again.model.parameters()):
        assert torch.equal(p, q)
    model, history, test_accuracy = run            # unpacks like a tuple
    assert model is run.model


def test_runner_calls_init_before_training_and_trains_a_given_module():
    seen = {}

    def init(model):
        seen["forget bias"] = (model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0)[8:16].detach().clone()
        set_lstm_gate_biases(model.rnn, forget=5.0, input=-2.0)
        seen["after"] = (model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0)[8:16].detach().clone()

    given = SequenceClassifier("lstm", 9, 8, 4)
    before = [p.detach().clone() for p in given.parameters()]
    run = train_memory_model(given, lag=3, init=init, **SMALL)
    assert run.model is given
    assert torch.allclose(seen["after"], torch.full((8,), 5.0))
    assert any(not torch.equal(p, q) for p, q in zip(before, given.parameters()))   # trained in place


def test_runner_solves_a_short_lag():
    """An LSTM with open forget gates learns lag 2 well above chance with a few hundred sequences."""
    run = train_memory_model("lstm", lag=2, n_hidden=16, n_train=1024, n_test=256, batch_size=32, epochs=3,
                             lr=1e-2, init=lambda m: set_lstm_gate_biases(m.rnn, forget=5.0, input=-2.0))
    assert run.test_accuracy > 0.9, run.test_accuracy


def test_runner_rejects_an_unknown_cell():
    with pytest.raises(ValueError, match="model='transformer'"):
        train_memory_model("transformer", lag=3)
    with pytest.raises(ValueError):
        train_memory_model(nn.Linear(9, 4), lag=-1)
