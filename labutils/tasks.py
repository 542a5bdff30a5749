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
