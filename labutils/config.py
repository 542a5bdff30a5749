"""Settings shared by every notebook, one small function each: FAST mode, seeds, device, threads,
and where data and build artefacts live. ``labutils.session.setup`` calls them together at the top of
a notebook.

FAST mode is read from the environment variable ``LABUTILS_FAST`` ("1", "true", "yes" or "on"
mean FAST; unset or anything else means full mode). The test command sets it; students normally
run in full mode.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

_TRUE = {"1", "true", "yes", "on"}


def fast_mode() -> bool:
    """True when ``LABUTILS_FAST`` asks for the small, quick version of every notebook."""
    return os.environ.get("LABUTILS_FAST", "").strip().lower() in _TRUE


FAST: bool = fast_mode()


def pick(fast, full):
    """Return ``fast`` in FAST mode and ``full`` otherwise: ``epochs = pick(2, 20)``."""
    return fast if FAST else full


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and PyTorch (CPU and GPU) so two runs give the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:  # NumPy-only chapters still work
        return seed
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def device(prefer: str | None = None):
    """The torch device to train on: ``LABUTILS_DEVICE`` if set, else CUDA, else CPU.

    Apple's MPS is used only when asked for (``LABUTILS_DEVICE=mps``): several recurrent ops are
    slower there than on the CPU for the small models of this course.
    """
    import torch

    choice = (prefer or os.environ.get("LABUTILS_DEVICE", "")).strip().lower()
    if choice:
        if choice.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"LABUTILS_DEVICE={choice!r} but no CUDA GPU is visible to PyTorch. "
                               "Unset LABUTILS_DEVICE to use the CPU.")
        return torch.device(choice)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(n: int | None = None) -> int:
    """Limit PyTorch to ``n`` CPU threads (default: ``LABUTILS_THREADS`` or all cores, at most 4).

    Small recurrent models gain little from many threads and lose to their overhead.
    """
    import torch

    if n is None:
        n = int(os.environ.get("LABUTILS_THREADS", "0")) or min(4, os.cpu_count() or 1)
    torch.set_num_threads(n)
    return n


def repo_root() -> Path:
    """The course checkout (the folder holding ``labutils/``)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where datasets live: ``LABUTILS_DATA`` if set, else ``<repo>/data``. Created if missing."""
    path = Path(os.environ.get("LABUTILS_DATA", repo_root() / "data")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_dir() -> Path:
    """Where generated artefacts go (executed notebooks, results, benchmark tables)."""
    path = Path(os.environ.get("LABUTILS_BUILD", repo_root() / "build")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
