"""Small synthetic sequence tasks that need memory (notebooks 02 and 03)."""
from __future__ import annotations

import numpy as np


def first_symbol_task(n: int, lag: int, n_classes: int = 4, n_distractors: int = 4,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Remember the first symbol across ``lag`` steps of distractors.

    Each sequence has ``lag + 1`` one-hot steps over ``n_classes + n_distractors`` symbols: step 0
    is one of the ``n_classes`` class symbols, steps 1..lag are random distractor symbols. The target
    is the class shown at step 0, to be reported after the last step. Chance accuracy is
    ``1 / n_classes``.

    Returns X float32 (n, lag + 1, n_classes + n_distractors) and y int64 (n,).
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    symbols = np.empty((n, lag + 1), dtype=np.int64)
    symbols[:, 0] = y
    symbols[:, 1:] = n_classes + rng.integers(0, n_distractors, (n, lag))
    X = np.eye(n_classes + n_distractors, dtype=np.float32)[symbols]
    return X, y


def marked_symbol_task(n: int, lag: int, n_classes: int = 4, n_distractors: int = 4,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Remember the symbol shown with a marker, while the same symbols keep arriving as noise.

    Like ``first_symbol_task``, but the ``lag`` distractor steps draw from *all*
    ``n_classes + n_distractors`` symbols, class symbols included, and one extra input channel
    (the last) is 1 at step 0 only. A model must store the class at the marked step and then ignore
    later inputs that look exactly like it: a gate can do that, a vanilla RNN has to learn an
    attractor that survives the noise. Chance accuracy is ``1 / n_classes``.

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
