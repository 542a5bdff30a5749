"""Score: points per check cell by nbgrader's rule, and grading one submission end to end.

nbgrader's rule (``nbgrader.utils.determine_grade``): an error gives 0, a displayed number is
partial credit (the grading kernel displays no values, see ``execute.KERNEL_ARGS``), anything else
full points. Output on stderr (warnings) is dropped first with nbgrader's ``IgnorePattern``:
nbgrader alone would give 0 for a harmless ``UserWarning``.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.preprocessors import IgnorePattern
from nbgrader.utils import determine_grade, is_grade, is_solution

from .execute import DEFAULT_TIMEOUT, execute, guard_plan
from .restore import grade_id, restore_locked_cells

IGNORED_STDERR = r"(?s).*"  # IgnorePattern drops the stderr outputs this matches: all of them
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class GradeRow:
    """One line of the gradebook: the score of one check cell of one student's notebook."""
    student: str
    notebook: str
    grade_id: str
    points: float
    max_points: float
    status: str  # passed | partial | failed | timeout | kernel died | missing source | unreadable | manual
    message: str = ""


@dataclass
class NotebookGrade:
    """Everything grading one submission produced."""
    student: str
    notebook: str
    rows: list[GradeRow]
    notes: list[str] = field(default_factory=list)  # restored cells, crashes: shown in the feedback
    executed: object = None  # the executed NotebookNode (None when it could not run)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)


def error_text(cell) -> str:
    """The error a cell raised, as the student should read it (no colour codes)."""
    errors = [out for out in cell.get("outputs", []) if out.output_type == "error"]
    if not errors:
        return ""
    # a timeout shows as the KeyboardInterrupt of the interrupt, then our CellTimeoutError: say why
    out = next((e for e in errors if e.ename == "CellTimeoutError"), errors[0])
    text = f"{out.ename}: {out.evalue}".strip()
    if out.ename == "NotImplementedError":
        text += " (this exercise is not done yet)"
    elif not out.evalue.strip():  # a bare `assert`: show the line that failed
        marked = [ln for ln in ANSI.sub("", "\n".join(out.traceback)).splitlines() if "---->" in ln]
        text += ("\n" + marked[-1].strip()) if marked else ""
    return ANSI.sub("", text)


def score_cell(cell) -> tuple[float | None, float, str, str]:
    """(points, max points, status, message) of one executed check cell, by nbgrader's rule.

    stderr output (warnings, progress bars) is ignored; everything else is nbgrader's own decision.
    """
    judged, _ = IgnorePattern(enabled=True, pattern=IGNORED_STDERR).preprocess_cell(copy.deepcopy(cell), {}, 0)
    points, max_points = determine_grade(judged)
    if points is None:
        return None, max_points, "manual", "graded by hand (not an auto-graded cell)"
    message = error_text(judged)
    if message:
        status = "timeout" if message.startswith("CellTimeoutError") else "failed"
    elif points < max_points:
        status = "partial"
        message = ("the check displayed a value, which nbgrader reads as partial credit; end the "
                   "check cell with a statement (or a `;`) if that was not meant")
    else:
        status = "passed"
    return float(points), max_points, status, message


def score_notebook(nb, student: str, notebook: str, crash: str | None = None) -> list[GradeRow]:
    """One row per check cell of an executed notebook; a crashed run scores 0 everywhere."""
    rows = []
    for i, cell in enumerate(nb.cells):
        if not is_grade(cell):
            continue
        points, max_points, status, message = score_cell(cell)
        if crash:
            points, status, message = 0.0, "kernel died", crash
        elif points is None:
            points = 0.0
        if status in ("failed", "timeout") and i > 0 and is_solution(nb.cells[i - 1]):
            own = error_text(nb.cells[i - 1])  # e.g. a SyntaxError in the exercise cell itself
            if own:
                message = f"{message}\n(the exercise cell above raised {own})"
        rows.append(GradeRow(student, notebook, grade_id(cell), points, max_points, status, message))
    return rows


def placeholder_rows(student: str, notebook: str, source, status: str, message: str) -> list[GradeRow]:
    """0-point rows for a submission that could not be graded (one row per check of ``source``)."""
    if source is None:
        return [GradeRow(student, notebook, "", 0.0, 0.0, status, message)]
    return [GradeRow(student, notebook, grade_id(c), 0.0, float(c.metadata.nbgrader["points"]), status, message)
            for c in source.cells if is_grade(c)]


def grade_notebook(submission, source, student: str = "student", notebook: str = "notebook",
                   cwd: Path | None = None, timeout: int = DEFAULT_TIMEOUT, env: dict | None = None,
                   runner=None, guard: bool = True) -> NotebookGrade:
    """Restore, execute and score one submission (NotebookNodes) against its solution ``source``.

    ``runner`` executes the restored notebook in place, with ``execute.execute``'s arguments and
    result (default: ``execute.execute``; the sandbox passes its own). ``guard``: put back, before
    each check cell, library code the submission replaced (``labutils.instructor.guard``).
    """
    nb, notes = restore_locked_cells(submission, source)
    crash, restored = (runner or execute)(nb, cwd or Path.cwd(), timeout, env, guard_plan(source) if guard else None)
    if restored:
        shown = ", ".join(restored[:6]) + (f" and {len(restored) - 6} more" if len(restored) > 6 else "")
        notes.append(f"the submission replaced code the checks rely on ({shown}); the checks ran with "
                     "the originals, put back before each check cell")
    if crash:
        notes.append(f"{crash}: by the course rule the whole notebook scores 0.")
    return NotebookGrade(student, notebook, score_notebook(nb, student, notebook, crash), notes, nb)
