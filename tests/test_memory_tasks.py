"""labutils.memory_tasks: the synthetic memory tasks have the shapes, labels and markers they promise."""
import numpy as np
import pytest

from labutils.memory_tasks import first_symbol_task, marked_symbol_task


def test_first_symbol_task_unchanged():
    X, y = first_symbol_task(5, lag=3, seed=1)
    assert X.shape == (5, 4, 8) and X.dtype == np.float32 and y.dtype == np.int64
    assert (X[np.arange(5), 0, y] == 1).all()


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


def test_marked_symbol_task_bad_input():
    with pytest.raises(ValueError, match="lag=-1"):
        marked_symbol_task(3, lag=-1)
