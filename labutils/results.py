"""Key figures a notebook reports, collected by ``make run`` and ``make bench``.

A notebook calls ``record("test_accuracy", 0.83)``. The value is kept in memory and, when the
environment variable ``LABUTILS_RESULTS`` names a JSON file (``make run`` sets one per notebook),
merged into that file at once, so a crash later in the notebook keeps what was recorded.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

RESULTS: dict[str, float | str] = {}


def _plain(value):
    if isinstance(value, (np.generic,)):
        return value.item()
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def record(name: str, value, fmt: str = "{:.4g}") -> None:
    """Keep ``name = value`` for the results table and print it as ``[result] name = value``."""
    value = _plain(value)
    RESULTS[name] = value
    shown = fmt.format(value) if isinstance(value, (int, float)) else value
    print(f"[result] {name} = {shown}")
    target = os.environ.get("LABUTILS_RESULTS")
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved[name] = value
        path.write_text(json.dumps(saved, indent=2, sort_keys=True))
