"""labutils: the small helper package of the 'RNNs for Healthcare' lab course.

Infrastructure only (settings, training loop, checks, metrics, plots, data) — never the answer to
an exercise. Each module is short enough to read in one sitting:

- ``config``          one small function per setting: FAST mode, seeds, device, threads, data and build folders
- ``session``         ``setup()``: the first call of every notebook (seed, threads, device, figure style, versions)
- ``checks``          assertions whose failures teach (worst entry, expected vs got, hint)
- ``training``        ``fit``: a PyTorch training loop for tuple or dict batches, early stopping, a NaN guard
- ``metrics``         accuracy, AUROC/AUPRC with bootstrap intervals, sensitivity at fixed specificity
- ``plots``           learning curves, confusion matrices, the course's figure style
- ``results``         ``record``: key figures collected by ``make run`` / ``make bench``
- ``notebook_code``   imports a notebook's own solution and ``library`` cells (benchmarks, tests)
- ``models``          ``SequenceClassifier``: a one-layer RNN/LSTM/GRU read out at the last step
- ``memory_tasks``    the long-lag memory task of notebooks 02 and 03 and its training runner
- ``seizure``         the UCI Epileptic Seizure Recognition data (files, checksums) and its stand-in (04)
- ``ehr``             EHR cohorts: MIMIC loaders, a synthetic generator with exact oracles, tasks (05, 06, 07)
- ``med_instructions`` medication-instruction shorthand and its plain reading, from a grammar (07)
- ``clinical_notes``  generated clinical notes with negation, history and medication tags (08)
- ``instructor``      student versions, the student workbook, self-checks, sandboxed autograding
"""
from .checks import (assert_close, assert_greater, assert_less, assert_raises, assert_rel_error,
                     assert_shape, check_gradient, numerical_gradient, ok, rel_error)
from .config import FAST, data_dir, device, pick, seed_everything, set_threads
from .results import record
from .session import setup

__all__ = [
    "FAST", "setup", "seed_everything", "device", "set_threads", "data_dir", "pick",
    "assert_close", "assert_rel_error", "assert_shape", "assert_raises", "assert_greater",
    "assert_less", "check_gradient", "numerical_gradient", "rel_error", "ok", "record",
]
__version__ = "0.1.0"
