"""labutils: the small helper package of the 'RNNs for Healthcare' lab course.

Infrastructure only (settings, training loop, checks, metrics, plots, data) — never the answer to
an exercise. Each module is short enough to read in one sitting:

- ``config``   FAST mode, seeds, device, threads, data directory
- ``checks``   assertions whose failures teach (worst entry, expected vs got, hint)
- ``training`` ``fit``: a PyTorch training loop with early stopping and a NaN guard
- ``metrics``  AUROC/AUPRC with bootstrap intervals, sensitivity at fixed specificity
- ``plots``    learning curves, confusion matrices, the course's figure style
- ``results``  ``record``: key figures collected by ``make run`` / ``make bench``
- ``memory_tasks`` synthetic memory tasks (long-lag recall) for notebooks 02 and 03
"""
from .checks import (assert_close, assert_greater, assert_less, assert_raises, assert_rel_error,
                     assert_shape, check_gradient, numerical_gradient, ok, rel_error)
from .config import FAST, data_dir, device, pick, seed_everything, set_threads
from .session import setup
from .results import record

__all__ = [
    "FAST", "setup", "seed_everything", "device", "set_threads", "data_dir", "pick",
    "assert_close", "assert_rel_error", "assert_shape", "assert_raises", "assert_greater",
    "assert_less", "check_gradient", "numerical_gradient", "rel_error", "ok", "record",
]
__version__ = "0.1.0"
