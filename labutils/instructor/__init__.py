"""Instructor tools: student versions, autograding and a gradebook, built on nbgrader.

The notebooks in ``notebooks/`` are the solution source (nbgrader markers and cell metadata, see
the course guide §4). Everything here runs headless and needs no nbgrader course database:

- ``release``  student versions made with nbgrader's preprocessors → ``build/student/``
- ``listing``  every exercise (notebook, grade id, points) → ``build/exercises.md``
- ``course``   an nbgrader course directory (``generate_assignment``/``autograde``) from the notebooks
- ``grade``    restore the check cells from the source, execute each submission in its own kernel
               with a per-cell time limit, score with nbgrader's rule → CSV gradebook + feedback

Command line: ``python -m labutils.instructor {release,list,grade} --help``. Needs the optional
dependency group: ``pip install -e ".[instructor]"`` (students do not need it).
"""
from __future__ import annotations

try:
    import nbgrader  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the optional group
    raise ImportError("labutils.instructor needs nbgrader. Install the instructor extras from the "
                      "repository root: pip install -e \".[instructor]\"") from exc

from .course import make_course
from .grade import GradeRow, grade_notebook, grade_submissions, restore_locked_cells
from .listing import exercise_table, write_listing
from .release import release, solution_text, student_version

__all__ = ["student_version", "release", "solution_text", "restore_locked_cells", "grade_notebook",
           "grade_submissions", "GradeRow", "exercise_table", "write_listing", "make_course"]
