"""Gradebook: find the submissions, grade them (in parallel), write the gradebook and feedback.

    grade_submissions(["submissions/"], jobs=2)

Each submission is graded in its own kernel (``score.grade_notebook``); ``jobs`` kernels run at
once. The gradebook, the feedback files and the executed copies are written by this process only,
in submission order, so a parallel run writes the same gradebook as a serial one.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import nbformat
import pandas as pd

from ..config import build_dir, repo_root
from .execute import DEFAULT_TIMEOUT, kernel_environment
from .restore import grade_id
from .score import NotebookGrade, grade_notebook, placeholder_rows

COLUMNS = ["student", "notebook", "grade_id", "points", "max_points", "status"]


def find_submissions(paths: list[str | Path]) -> list[tuple[str, Path]]:
    """(student, notebook file) pairs. A file's student is its folder's name; in a folder, each
    sub-folder is a student (``submissions/<student>/<nb>.ipynb``, deeper levels allowed, as in
    nbgrader's ``submitted/<student>/<assignment>/``), loose notebooks belong to the folder."""
    found = []
    for arg in paths:
        path = Path(arg)
        if path.is_file():
            found.append((path.resolve().parent.name, path))
        elif path.is_dir():
            for nb in sorted(path.rglob("*.ipynb")):
                if ".ipynb_checkpoints" in nb.parts:
                    continue
                rel = nb.relative_to(path)
                found.append((rel.parts[0] if len(rel.parts) > 1 else path.resolve().name, nb))
        else:
            raise FileNotFoundError(f"no submission file or folder {str(arg)!r}")
    return found


def source_for(path: Path, submission, sources: dict[str, object]) -> str | None:
    """The source notebook's file name: same name, else the one sharing most grade ids."""
    if path.name in sources:
        return path.name
    ids = {grade_id(c) for c in submission.cells if grade_id(c)} if submission is not None else set()
    overlap = {name: len(ids & {grade_id(c) for c in nb.cells}) for name, nb in sources.items()}
    best = max(overlap, key=overlap.get, default=None)
    return best if best and overlap[best] else None


def grade_one(student: str, path: Path, sources: dict[str, object], source_dir: Path,
              timeout: int = DEFAULT_TIMEOUT, env: dict | None = None, runner=None,
              guard: bool = True) -> NotebookGrade:
    """Grade one file, turning every problem into 0-point rows instead of an exception."""
    start = time.perf_counter()
    try:
        submission = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, ...
        message = f"{path} is not a readable notebook ({type(exc).__name__}: {exc})"
        rows = placeholder_rows(student, path.name, sources.get(path.name), "unreadable", message)
        return NotebookGrade(student, path.name, rows, [message])
    name = source_for(path, submission, sources)
    if name is None:
        message = f"{path.name} matches no notebook in {source_dir} (by name or grade ids)"
        return NotebookGrade(student, path.name, placeholder_rows(student, path.name, None, "missing source",
                                                                  message), [message])
    try:
        # The kernel starts beside the student's other notebooks, so that a later notebook loads this
        # student's answers to earlier ones (notebook 06 uses 05's multi_hot_visits).
        graded = grade_notebook(submission, sources[name], student, name, path.parent, timeout, env, runner, guard)
    except Exception as exc:  # noqa: BLE001 - one broken submission never stops the batch
        message = f"grading failed: {type(exc).__name__}: {exc}"
        graded = NotebookGrade(student, name, placeholder_rows(student, name, sources[name], "unreadable", message),
                               [message])
    graded.seconds = time.perf_counter() - start
    return graded


def feedback_markdown(student: str, grades: list[NotebookGrade]) -> str:
    """The feedback file of one student: score per notebook, and the message of every failed check."""
    lines = [f"# Feedback for {student}", ""]
    for g in grades:
        lines += [f"## {g.notebook}: {g.points:g} / {g.max_points:g} points", ""]
        lines += [f"- {note}" for note in g.notes] + ([""] if g.notes else [])
        lines += ["| check | points | status |", "|---|---:|---|"]
        lines += [f"| `{r.grade_id}` | {r.points:g} / {r.max_points:g} | {r.status} |" for r in g.rows]
        lines.append("")
        for r in g.rows:
            if r.status in ("failed", "timeout", "partial") and r.message:
                lines += [f"### `{r.grade_id}`: {r.status}", "", "```", r.message.strip(), "```", ""]
    return "\n".join(lines)


def submission_line(g: NotebookGrade) -> str:
    """The one console line of a graded submission."""
    line = f"{g.student:<16} {g.notebook:<34} {g.points:>5g} / {g.max_points:<4g} {g.seconds:6.1f} s"
    problems = sorted({r.status for r in g.rows} - {"passed"})
    if problems:
        line += "  " + ", ".join(problems)
    return line


def summary_table(book: pd.DataFrame) -> str:
    """Points per student (rows) and notebook (columns), with each notebook's maximum."""
    if book.empty:
        return "(no submissions)"
    table = book.pivot_table(index="student", columns="notebook", values="points", aggfunc="sum", fill_value=0)
    table["total"] = table.sum(axis=1)
    best = book.groupby(["notebook", "student"]).max_points.sum().groupby("notebook").max()
    table.loc["(max)"] = list(best.reindex(table.columns[:-1]).fillna(0)) + [best.sum()]
    return table.to_string(float_format=lambda v: f"{v:g}")


def default_jobs() -> int:
    return os.cpu_count() or 1


def _progress(total: int, enabled: bool | None):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a course dependency
        return None
    return tqdm(total=total, unit="submission", disable=enabled is False or None, leave=False)


def grade_all(found: list[tuple[str, Path]], sources: dict, source_dir: Path, timeout: int, jobs: int,
              env: dict | None, runner=None, log=print, progress: bool | None = None,
              guard: bool = True) -> list[NotebookGrade]:
    """Grade every (student, file) pair with ``jobs`` kernels at once; results in input order.

    ``log`` gets one line per submission (printed above the progress bar when ``log`` is print).
    """
    bar = _progress(len(found), progress)
    say = bar.write if log is print and bar is not None and not bar.disable else log

    def one(item):
        graded = grade_one(*item, sources, source_dir, timeout, env, runner, guard)
        say(submission_line(graded))
        if bar is not None:
            bar.update(1)
        return graded

    try:
        if jobs <= 1:
            return [one(item) for item in found]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(one, found))
    finally:
        if bar is not None:
            bar.close()


def grading_environment(jobs: int, fast: bool | None = None) -> dict:
    """The kernels' environment: FAST mode as asked, and the cores shared among the parallel kernels
    (``LABUTILS_THREADS`` = cores / jobs unless set)."""
    extra = {}
    if "LABUTILS_THREADS" not in os.environ:
        extra["LABUTILS_THREADS"] = str(max(1, default_jobs() // max(1, jobs)))
    return kernel_environment(fast, extra)


def write_outputs(grades: list[NotebookGrade], out_dir: Path) -> pd.DataFrame:
    """Write gradebook.csv, feedback/<student>.md and executed/<student>/<notebook>; return the book."""
    by_student: dict[str, list[NotebookGrade]] = {}
    for graded in grades:
        by_student.setdefault(graded.student, []).append(graded)
        if graded.executed is not None:
            target = out_dir / "executed" / graded.student / graded.notebook
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(graded.executed, target)
    (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
    for student, mine in by_student.items():
        (out_dir / "feedback" / f"{student}.md").write_text(feedback_markdown(student, mine), encoding="utf-8")
    rows = [asdict(r) for g in grades for r in g.rows]
    book = pd.DataFrame(rows, columns=COLUMNS + ["message"])[COLUMNS]
    book.to_csv(out_dir / "gradebook.csv", index=False)
    return book


def load_sources(source_dir: Path) -> dict[str, object]:
    sources = {p.name: nbformat.read(p, as_version=4) for p in sorted(Path(source_dir).glob("*.ipynb"))}
    if not sources:
        raise FileNotFoundError(f"no solution notebooks in {source_dir}: pass --source <folder>")
    return sources


def grade_submissions(paths: list[str | Path], source_dir: Path | None = None, out_dir: Path | None = None,
                      timeout: int = DEFAULT_TIMEOUT, log=print, jobs: int = 1, fast: bool | None = None,
                      runner=None, progress: bool | None = None) -> pd.DataFrame:
    """Grade every submission under ``paths``; write the gradebook, feedback and executed copies.

    Writes ``out_dir/gradebook.csv`` (student, notebook, grade_id, points, max_points, status),
    ``out_dir/feedback/<student>.md`` and ``out_dir/executed/<student>/<notebook>``. Default
    ``source_dir`` is notebooks/, ``out_dir`` build/grades/. ``jobs`` kernels run at once (0: one
    per core); ``fast`` sets ``LABUTILS_FAST`` for the kernels (None: inherited). Returns the gradebook.
    """
    source_dir = Path(source_dir) if source_dir else repo_root() / "notebooks"
    out_dir = Path(out_dir) if out_dir else build_dir() / "grades"
    jobs = jobs or default_jobs()
    sources = load_sources(source_dir)
    found = find_submissions(paths)
    grades = grade_all(found, sources, source_dir, timeout, jobs, grading_environment(jobs, fast), runner,
                       log, progress)
    return write_outputs(grades, out_dir)
