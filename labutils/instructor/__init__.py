"""Instructor and student tools: student versions, self-checks, autograding, a gradebook (nbgrader).

The notebooks in ``notebooks/`` are the solution source (nbgrader markers and cell metadata, see
``docs/conventions.md``). Everything here runs headless and needs no nbgrader course database.
One job per module, as nbgrader's preprocessors are:

- ``release``    student versions made with nbgrader's preprocessors → ``build/student/``
- ``workbook``   the student's own copy in ``workbook/`` (never overwritten) and ``check`` on it
- ``listing``    every exercise (notebook, grade id, points) → ``build/exercises.md``
- ``course``     an nbgrader course directory (``generate_assignment``/``autograde``) from the notebooks
- ``restore``    a submission's check cells and locked cells put back from the solution notebook
- ``execute``    one notebook in a fresh kernel with a per-cell time limit
- ``guard``      runs inside the grading kernel: puts back library code a submission replaced
- ``sandbox``    runs each grading kernel in a bubblewrap sandbox (Linux)
- ``score``      points per check cell by nbgrader's rule; ``grade_notebook`` = restore, execute, score
- ``gradebook``  a batch of submissions, in parallel → CSV gradebook, feedback, executed copies

Command line: ``python -m labutils.instructor {release,workbook,check,list,grade,course} --help``.
Submodules load on first use (``labutils.instructor.guard`` runs in grading kernels without nbgrader).
"""
from __future__ import annotations

import importlib

# A name that is also a submodule's (``release``) would be shadowed by that submodule once it is
# imported, so ``release()`` is imported from ``labutils.instructor.release`` directly.
_EXPORTS = {
    "student_version": "release", "solution_text": "release",
    "restore_locked_cells": "restore", "grade_notebook": "score", "GradeRow": "score",
    "NotebookGrade": "score", "grade_submissions": "gradebook", "exercise_table": "listing",
    "write_listing": "listing", "make_course": "course", "make_workbook": "workbook",
    "check_workbook": "workbook",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
    except ImportError as exc:
        if "nbgrader" in str(exc):
            raise ImportError("labutils.instructor needs nbgrader. Install the instructor extras from "
                              "the repository root: pip install -e \".[instructor]\"") from exc
        raise
    return getattr(module, name)
