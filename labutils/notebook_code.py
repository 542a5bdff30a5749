"""Import a notebook's own code, so that benchmarks and tests never keep a second copy of it.

A notebook is the single source of two kinds of code:

- its exercise solutions (code cells whose nbgrader metadata says ``solution: true``), and
- its models and experiment functions, in code cells tagged ``library`` (pure definitions: functions,
  classes, constants; no training, no printing).

``load_notebook("04_seizure_classification")`` executes exactly those cells, in notebook order, in a
fresh namespace and returns it as a module. A function defined there may only read names the loaded
cells define (or import) and builtins: a function that reads a notebook global such as ``inputs`` or
``DEVICE`` would silently depend on cells the loader never ran, so it is refused with
``NotebookCodeError``; give it that input as an argument instead.

``run_check`` runs an exercise's check cell against other definitions, and
``execute_with_solutions`` runs the whole notebook with other solutions (tests use them to prove that
a check rejects wrong answers and that any correct answer carries the notebook).
"""
from __future__ import annotations

import builtins
import dis
import inspect
import math
import os
import textwrap
import types
from pathlib import Path

import nbformat
import numpy as np

from .config import repo_root

LIBRARY_TAG = "library"


class NotebookCodeError(RuntimeError):
    """A library cell defines a function that reads a global the loaded cells do not define."""


def notebook_path(name: str | Path) -> Path:
    """``"01_bptt"``, ``"01_bptt.ipynb"`` or a path → the notebook file in ``notebooks/``."""
    path = Path(name)
    if path.suffix != ".ipynb":
        path = path.with_suffix(".ipynb")
    if not path.exists():
        path = repo_root() / "notebooks" / path.name
    if not path.exists():
        raise FileNotFoundError(f"no notebook {name!r} (looked in {repo_root() / 'notebooks'})")
    return path


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and bool(cell.metadata.get("nbgrader", {}).get("solution"))


def is_library(cell) -> bool:
    return cell.cell_type == "code" and LIBRARY_TAG in cell.metadata.get("tags", [])


def _preloaded() -> dict:
    """Names an exercise cell may use without importing them (the setup cell imports them)."""
    import torch

    return {"np": np, "torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math}


def load_notebook(name: str | Path) -> types.ModuleType:
    """Execute the solution cells and the ``library`` cells of notebook ``name``; return a module."""
    path = notebook_path(name)
    nb = nbformat.read(path, as_version=4)
    module = types.ModuleType(f"notebook_{path.stem}", f"Code of {path.name}")
    module.__dict__.update(_preloaded())
    module.__file__ = str(path)
    for index, cell in enumerate(nb.cells):
        if is_solution(cell) or is_library(cell):
            label = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
            exec(compile(cell.source, f"{path.name}:{label}", "exec"), module.__dict__)
    _refuse_notebook_globals(module, path.name)
    return module


def _global_reads(code: types.CodeType) -> set[str]:
    """Names that ``code`` (and the functions nested in it) looks up as globals."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_reads(const)
    return names


def _functions(namespace: dict, module_name: str):
    """(qualified name, function) for every function and method the loaded cells defined."""
    for name, value in namespace.items():
        if isinstance(value, types.FunctionType) and value.__module__ in (module_name, "builtins", None):
            yield name, value
        elif isinstance(value, type) and value.__module__ == module_name:
            for attr, member in vars(value).items():
                member = getattr(member, "__func__", member)
                if isinstance(member, types.FunctionType):
                    yield f"{name}.{attr}", member


def _refuse_notebook_globals(module: types.ModuleType, label: str) -> None:
    known = set(module.__dict__) | set(dir(builtins))
    for qualname, function in _functions(module.__dict__, module.__name__):
        if function.__globals__ is not module.__dict__:
            continue  # imported from elsewhere
        missing = sorted(_global_reads(function.__code__) - known)
        if missing:
            raise NotebookCodeError(
                f"{label}: {qualname} reads the notebook global(s) {', '.join(missing)}, which no library "
                "or solution cell defines. Pass them as arguments, or tag the cell that defines them "
                f"'{LIBRARY_TAG}' (definitions only).")


def cell_source(name: str | Path, grade_id: str) -> str:
    """The source of the cell with nbgrader ``grade_id`` (e.g. ``"rnn_backward-check"``)."""
    nb = nbformat.read(notebook_path(name), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(f"{name}: no cell with grade_id {grade_id!r}")


def run_check(name: str | Path, grade_id: str, **definitions) -> None:
    """Run the check cell of exercise ``grade_id`` against ``definitions`` (name → function).

    Raises the check's ``AssertionError`` when it rejects them.
    """
    namespace = {**_preloaded(), **definitions}
    exec(compile(cell_source(name, f"{grade_id}-check"), f"{name}:{grade_id}-check", "exec"), namespace)



def variant_source(exercise: str, function) -> str:
    """Source of a solution cell that defines ``exercise`` as ``function`` (any name, defined in a file)."""
    source = textwrap.dedent(inspect.getsource(function))
    if function.__name__ == exercise:
        return source
    return f"{source}\n\n{exercise} = {function.__name__}\n"


def execute_with_solutions(name: str | Path, sources: dict[str, str], until: str | None = None,
                           timeout: int = 900):
    """Execute notebook ``name`` in a fresh kernel, in FAST mode, with the solution cell of each
    ``grade_id`` in ``sources`` replaced by ``sources[grade_id]`` (see ``variant_source``); the check
    cells and every later cell then use the replacement. ``until`` (a heading such as ``"## 6."``)
    drops the notebook from the first markdown cell with a line that starts with it. Raises nbclient's
    ``CellExecutionError`` naming the first cell that fails; returns the executed notebook.

    Tests use it to prove that a correct answer written differently from the solution carries the
    notebook's checks and experiments too.
    """
    from nbclient import NotebookClient

    path = notebook_path(name)
    nb = nbformat.read(path, as_version=4)
    missing = set(sources)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if is_solution(cell) and grade_id in sources:
            cell.source = sources[grade_id]
            missing.discard(grade_id)
    if missing:
        raise KeyError(f"{path.name} has no solution cell {sorted(missing)}")
    if until is not None:
        end = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    and any(line.startswith(until) for line in c.source.splitlines())), None)
        if end is None:
            raise KeyError(f"{path.name} has no heading {until!r}")
        nb.cells = nb.cells[:end]
    settings = {"LABUTILS_FAST": "1", "LABUTILS_THREADS": "1", "MPLBACKEND": "Agg"}
    saved = {k: os.environ.get(k) for k in [*settings, "LABUTILS_RESULTS"]}
    os.environ.update(settings)
    os.environ.pop("LABUTILS_RESULTS", None)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return nb
