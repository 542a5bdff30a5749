"""The long-lag memory task of notebooks 02 and 03, and the runner that trains a model on it.

``marked_symbol_task`` makes the data; ``train_memory_model`` trains one model on it with a fixed
budget and reports its accuracy on fresh sequences. Notebook 02 uses them to show a vanilla RNN
failing at long lags, notebook 03 to compare LSTM gate initialisations, and
``benchmarks/bench_long_lag.py`` to sweep the lag. Infrastructure only: the cells themselves are
the notebooks' exercises.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .config import seed_everything
from .metrics import accuracy
from .models import CELLS, SequenceClassifier
from .training import fit, predict


def marked_symbol_task(n: int, lag: int, n_classes: int = 4, n_distractors: int = 4,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Remember the symbol shown with a marker, while the same symbols keep arriving as noise.

    Each sequence has ``lag + 1`` steps. A step is one-hot over ``n_classes + n_distractors``
    symbols, plus one marker channel (the last) that is 1 at step 0 only. Step 0 shows one of the
    ``n_classes`` class symbols: that is the label, to be reported after the last step. The ``lag``
    steps after it draw from *all* symbols, class symbols included, so a model must store the class
    at the marked step and then ignore later inputs that look exactly like it: a gate can do that,
    a vanilla RNN has to learn an attractor that survives the noise. Chance accuracy is
    ``1 / n_classes``.

    Returns X float32 (n, lag + 1, n_classes + n_distractors + 1) and y int64 (n,).
    """
    if lag < 0 or n_classes < 2 or n_distractors < 0:
        raise ValueError(f"need lag >= 0, n_classes >= 2, n_distractors >= 0; got lag={lag}, "
                         f"n_classes={n_classes}, n_distractors={n_distractors}")
    rng = np.random.default_rng(seed)
    n_symbols = n_classes + n_distractors
    y = rng.integers(0, n_classes, n)
    symbols = rng.integers(0, n_symbols, (n, lag + 1))
    symbols[:, 0] = y
    X = np.zeros((n, lag + 1, n_symbols + 1), dtype=np.float32)
    X[..., :n_symbols] = np.eye(n_symbols, dtype=np.float32)[symbols]
    X[:, 0, n_symbols] = 1.0
    return X, y


def memory_dataset(n: int, lag: int, seed: int, n_classes: int = 4, n_distractors: int = 4) -> TensorDataset:
    """``marked_symbol_task`` as a TensorDataset of (X, y) tensors."""
    X, y = marked_symbol_task(n, lag, n_classes, n_distractors, seed=seed)
    return TensorDataset(torch.from_numpy(X), torch.from_numpy(y))


class MemoryRun(NamedTuple):
    """What ``train_memory_model`` returns (unpacks as ``model, history, test_accuracy``)."""
    model: nn.Module
    history: pd.DataFrame
    test_accuracy: float


def train_memory_model(model: str | nn.Module, lag: int, *, n_hidden: int = 32, n_classes: int = 4,
                       n_distractors: int = 4, n_train: int = 6400, n_test: int = 1024, batch_size: int = 128,
                       epochs: int = 6, lr: float = 3e-3, clip_norm: float | None = 1.0, seed: int = 2,
                       data_seed: int = 100, init: Callable[[nn.Module], object] | None = None,
                       progress: bool = False) -> MemoryRun:
    """Train a sequence classifier on ``marked_symbol_task`` at one lag; return it and its test accuracy.

    Args:
        model: ``"rnn"``, ``"lstm"`` or ``"gru"`` builds a ``SequenceClassifier`` with ``n_hidden``
            units, after seeding with ``seed`` (so the same seed gives the same start); or any
            ``nn.Module`` that maps a batch ``(N, lag + 1, n_classes + n_distractors + 1)`` to class
            scores ``(N, n_classes)`` (it is trained in place; ``n_hidden`` is then unused).
        lag: number of distractor steps between the marked symbol and the answer.
        init: called once as ``init(model)`` before training, e.g. to start an LSTM with open
            forget gates: ``init=lambda m: set_lstm_gate_biases(m.rnn, forget=5.0, input=-2.0)``.
        seed: seeds Python, NumPy and PyTorch before the model is built (initial weights, batch order).
        data_seed: training, validation and test sequences use the seeds ``data_seed + lag``,
            ``data_seed + 100 + lag`` and ``data_seed + 200 + lag``: three disjoint draws.

    Training: Adam with learning rate ``lr``, ``epochs`` passes over ``n_train`` sequences in batches
    of ``batch_size``, cross-entropy loss, gradients clipped to global norm ``clip_norm``; the epoch
    with the best validation accuracy (``n_test`` sequences) is kept. ``test_accuracy`` is measured on
    ``n_test`` further sequences; chance is ``1 / n_classes``.
    """
    seed_everything(seed)
    n_inputs = n_classes + n_distractors + 1
    if isinstance(model, str):
        if model not in CELLS:
            raise ValueError(f"model={model!r}: give one of {sorted(CELLS)} or an nn.Module")
        model = SequenceClassifier(model, n_inputs, n_hidden, n_classes)
    if init is not None:
        init(model)

    def loader(n, offset, shuffle):
        data = memory_dataset(n, lag, data_seed + offset + lag, n_classes, n_distractors)
        return DataLoader(data, batch_size=batch_size if shuffle else n, shuffle=shuffle)

    history = fit(model, loader(n_train, 0, True), F.cross_entropy, torch.optim.Adam(model.parameters(), lr=lr),
                  epochs, val_loader=loader(n_test, 100, False), metrics={"accuracy": accuracy},
                  clip_norm=clip_norm, progress=progress)
    return MemoryRun(model, history, accuracy(*predict(model, loader(n_test, 200, False))))
