"""The student's side: an own copy of the exercises in ``workbook/`` and a headless self-check.

``make workbook`` (``python -m labutils.instructor workbook``) writes the student version of every
notebook into ``workbook/`` (git-ignored). **It never overwrites a notebook the student has edited**:

- a notebook not yet in ``workbook/`` is written;
- a copy the student has not touched since it was written is updated to a newer release;
- an edited copy stays as it is, byte for byte; a newer release goes beside it as
  ``NAME.new-<hash>.ipynb``, with a message.

``workbook/.releases/`` keeps the release each copy was made from, to tell "edited" from "untouched".

``make check`` (``python -m labutils.instructor check``) executes the workbook notebooks headless
(FAST mode by default) with the checks the student sees, and reports per notebook and exercise:
passed, failed (with the check's message) or not attempted (the exercise cell is as released).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

from ..config import repo_root
from .execute import DEFAULT_TIMEOUT
from .gradebook import default_jobs, grade_all, grading_environment
from .release import source_notebooks, student_version
from .restore import grade_id

RELEASES = ".releases"


def workbook_dir() -> Path:
    return repo_root() / "workbook"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def update_copy(target: Path, release: str) -> str:
    """Bring ``target`` up to the release text ``release`` without losing an edit; say what happened."""
    record = target.parent / RELEASES / target.name
    shown = f"{target.parent.name}/{target.name}"
    if not target.exists():
        _write(target, release)
        _write(record, release)
        return f"{shown}: written"
    current = target.read_text(encoding="utf-8")
    made_from = record.read_text(encoding="utf-8") if record.exists() else None
    if current == release or made_from == release:
        _write(record, release)
        return f"{shown}: up to date"
    if current == made_from:  # untouched since it was written: nothing of the student's to lose
        _write(target, release)
        _write(record, release)
        return f"{shown}: updated to the newer release (you had not edited it)"
    beside = target.with_name(f"{target.stem}.new-{hashlib.sha256(release.encode()).hexdigest()[:8]}.ipynb")
    _write(beside, release)
    _write(record, release)
    return (f"{shown}: kept as it is (you edited it). The newer release is beside it: {beside.name}; "
            f"copy your answers into it if you want the new version (keep the name {target.name} "
            "for submission).")


def make_workbook(names: list[str] | None = None, folder: Path | None = None) -> list[str]:
    """Write or update the student copies in ``folder`` (default ``workbook/``); one message each."""
    folder = Path(folder) if folder else workbook_dir()
    messages = []
    for path in source_notebooks(names):
        release = nbformat.writes(student_version(nbformat.read(path, as_version=4), path.name)) + "\n"
        messages.append(update_copy(folder / path.name, release))
    return messages


@dataclass
class ExerciseStatus:
    notebook: str
    number: int
    exercise: str
    status: str  # passed | failed | not attempted | timeout | kernel died
    message: str = ""


def _exercise_of_each_check(released) -> dict[str, str]:
    """check grade id → the exercise (solution cell grade id) before it."""
    owner, current = {}, None
    for cell in released.cells:
        if is_solution(cell):
            current = grade_id(cell)
        elif is_grade(cell) and current:
            owner[grade_id(cell)] = current
    return owner


def exercise_statuses(graded, released, submission) -> list[ExerciseStatus]:
    """Per exercise: not attempted (cell as released), else failed at its first failing check, else passed."""
    as_released = {grade_id(c): c.source for c in released.cells if is_solution(c)}
    written = {grade_id(c): c.source for c in submission.cells if is_solution(c)}
    owner = _exercise_of_each_check(released)
    result: dict[str, ExerciseStatus] = {}
    for number, gid in enumerate(as_released, start=1):
        untouched = written.get(gid, as_released[gid]) == as_released[gid]
        result[gid] = ExerciseStatus(graded.notebook, number, gid, "not attempted" if untouched else "passed")
    for row in graded.rows:
        entry = result.get(owner.get(row.grade_id, ""))
        if entry is None or entry.status != "passed" or row.status == "passed":
            continue
        entry.status = row.status if row.status in ("timeout", "kernel died") else "failed"
        entry.message = row.message
    return list(result.values())


def check_workbook(folder: Path | None = None, names: list[str] | None = None, jobs: int = 1,
                   fast: bool | None = True, timeout: int = DEFAULT_TIMEOUT, log=print,
                   progress: bool | None = None) -> list[ExerciseStatus]:
    """Execute the workbook notebooks with their visible checks; the status of every exercise.

    ``jobs`` notebooks run at once (0: one per core); ``fast`` sets ``LABUTILS_FAST`` (None: inherited).
    """
    folder = Path(folder) if folder else workbook_dir()
    sources = {p.name: p for p in source_notebooks(names)}
    present = [(folder.name, folder / name) for name in sources if (folder / name).exists()]
    if not present:
        raise FileNotFoundError(f"no workbook notebooks in {folder}: run `make workbook` first")
    released = {p.name: student_version(nbformat.read(sources[p.name], as_version=4), p.name) for _, p in present}
    jobs = jobs or default_jobs()
    grades = grade_all(present, released, folder, timeout, jobs, grading_environment(jobs, fast),
                       log=lambda line: None, progress=progress, guard=False)
    statuses = []
    for (_, path), graded in zip(present, grades):
        mine = exercise_statuses(graded, released[path.name], nbformat.read(path, as_version=4))
        statuses += mine
        log(report(path.name, mine, graded.notes))
    return statuses


MARKS = {"passed": "✓", "not attempted": "·"}


def report(notebook: str, statuses: list[ExerciseStatus], notes: list[str] = ()) -> str:
    """The text ``make check`` prints for one notebook."""
    done = sum(s.status == "passed" for s in statuses)
    lines = [f"{notebook}: {done} of {len(statuses)} exercises passed"]
    lines += [f"  ! {note}" for note in notes if "edited" in note or "missing" in note or "died" in note]
    for s in statuses:
        lines.append(f"  {MARKS.get(s.status, '✗')} Exercise {s.number} `{s.exercise}`: {s.status}")
        if s.message and s.status != "passed":
            lines += ["      " + line for line in s.message.strip().splitlines()[:4]]
    return "\n".join(lines)
