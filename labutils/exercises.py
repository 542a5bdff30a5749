"""Load a notebook's exercise solutions as plain Python functions.

Benchmarks and instructor tools use the notebook itself as the single source of an exercise's
answer, instead of a second copy in ``labutils``: ``ex = load_exercises("01_bptt")`` runs the
cells whose nbgrader metadata marks them as solutions and returns their definitions.
"""
from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np

from .config import repo_root


def notebook_path(name: str) -> Path:
    """``"01_bptt"`` or ``"01_bptt.ipynb"`` or a path → the notebook file."""
    path = Path(name)
    if path.suffix != ".ipynb":
        path = path.with_suffix(".ipynb")
    if not path.exists():
        path = repo_root() / "notebooks" / path.name
    if not path.exists():
        raise FileNotFoundError(f"no notebook {name!r} (looked in {repo_root() / 'notebooks'})")
    return path


def solution_cells(nb) -> list:
    """The code cells marked ``nbgrader.solution = true``, in notebook order."""
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def load_exercises(name: str) -> SimpleNamespace:
    """Execute the solution cells of notebook ``name`` and return what they define.

    Solution cells may use ``np``, ``torch``, ``nn``, ``F`` and ``math`` without importing them
    (the notebook's setup cell imports them).
    """
    nb = nbformat.read(notebook_path(name), as_version=4)
    namespace = _base_namespace()
    for cell in solution_cells(nb):
        exec(compile(cell.source, f"{name}:{cell.metadata['nbgrader']['grade_id']}", "exec"), namespace)
    return SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


def _base_namespace() -> dict:
    import torch

    return {"np": np, "torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math}


def cell_source(name: str, grade_id: str) -> str:
    """The source of the cell with nbgrader ``grade_id`` (e.g. ``"rnn_backward-check"``)."""
    nb = nbformat.read(notebook_path(name), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(f"{name}: no cell with grade_id {grade_id!r}")


def run_check(name: str, grade_id: str, **definitions) -> None:
    """Run the check cell of exercise ``grade_id`` against ``definitions`` (name → function).

    Raises the check's ``AssertionError`` when it rejects them. Tests use it to prove that a check
    rejects known wrong answers and accepts other correct ones (a loop and a vectorised version).
    """
    namespace = {**_base_namespace(), **definitions}
    exec(compile(cell_source(name, f"{grade_id}-check"), f"{name}:{grade_id}-check", "exec"), namespace)
