"""Autograding without a course database: restore, execute, score, write a gradebook and feedback.

For each submission (one notebook of one student):

1. **Restore** every check cell and locked cell from the solution notebook by grade id, as
   nbgrader's ``OverwriteCells`` does with its database: hidden tests come back, an edited check is
   replaced by the original, a deleted one is put back after the cell it followed. Grade ids the
   source does not know lose their metadata, so a student cannot add a graded cell.
2. **Execute** it in its own kernel with nbgrader's ``Execute`` preprocessor and a per-cell time
   limit: a cell that runs too long is interrupted and scores 0, the following cells still run.
   A kernel that dies (``os._exit``, a segfault) ends that submission with 0 points.
3. **Score** each check cell with nbgrader's rule (``nbgrader.utils.determine_grade``): an error
   gives 0, a displayed number is partial credit (the kernel displays no values, see
   ``KERNEL_ARGS``), anything else full points. Output on stderr
   (warnings) is dropped first with nbgrader's ``IgnorePattern``: nbgrader alone would give 0 for a
   harmless ``UserWarning``.
"""
from __future__ import annotations

import copy
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import pandas as pd
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, DeduplicateIds, Execute, IgnorePattern
from nbgrader.utils import determine_grade, is_grade, is_locked, is_solution
from traitlets import Integer

from ..config import build_dir, repo_root

DEFAULT_TIMEOUT = 300  # seconds per cell: full-mode training cells take a few minutes on 2 cores
# Check cells often end with a call that returns a number (``assert_close`` returns its max error).
# nbgrader would read that displayed number as partial credit (4e-16 of 2 points), so the grading
# kernel displays no expression values. Checks in this course pass or raise, never score partially.
KERNEL_ARGS = ["--InteractiveShell.ast_node_interactivity=none"]
IGNORED_STDERR = r"(?s).*"
# After a cell's reply, nbclient waits this long for its last outputs. nbgrader's Execute makes a
# late output fatal after 4 s, which a busy machine reaches: wait longer, then carry on.
IOPUB_TIMEOUT = 30  # IgnorePattern drops the stderr outputs this matches: all of them
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class GradeRow:
    """One line of the gradebook: the score of one check cell of one student's notebook."""
    student: str
    notebook: str
    grade_id: str
    points: float
    max_points: float
    status: str  # passed | partial | failed | timeout | kernel died | missing source | unreadable
    message: str = ""


@dataclass
class NotebookGrade:
    """Everything grading one submission produced."""
    student: str
    notebook: str
    rows: list[GradeRow]
    notes: list[str] = field(default_factory=list)  # restored cells, crashes: shown in the feedback
    executed: object = None  # the executed NotebookNode (None when it could not run)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)


# ---------------------------------------------------------------------------------------- restore

def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _is_protected(cell) -> bool:
    """Check cells and read-only cells: their source comes from the instructor, not the student."""
    return is_locked(cell)  # nbgrader: grade cells that are not solution cells, and "read-only" cells


def _as_released(cell) -> str:
    """The source the student was given: the instructor's cell without its hidden tests."""
    shown = copy.deepcopy(cell)
    ClearHiddenTests()._remove_hidden_test_region(shown)
    return shown.source


def _fresh_copy(cell, nb, cell_id: str | None = None):
    new = copy.deepcopy(cell)
    if new.cell_type == "code":
        new.outputs, new.execution_count = [], None
    new.pop("id", None)
    if nb.get("nbformat_minor", 0) >= 5:
        new["id"] = cell_id or uuid.uuid4().hex[:8]
    return new


def restore_locked_cells(submission, source) -> tuple[object, list[str]]:
    """A copy of ``submission`` whose check/locked cells are the source's; returns (notebook, notes).

    Solution cells keep the student's code but get the source's metadata back (points, flags).
    """
    nb = copy.deepcopy(submission)
    nb, _ = DeduplicateIds().preprocess(nb, {})  # a copied check cell counts once (the last copy)
    nb.metadata["kernelspec"] = copy.deepcopy(source.metadata.get("kernelspec", {}))
    originals = {_grade_id(c): c for c in source.cells if _grade_id(c)}
    notes = []
    for i, cell in enumerate(nb.cells):
        gid = _grade_id(cell)
        if gid is None:
            continue
        if gid not in originals:
            del cell.metadata["nbgrader"]
            notes.append(f"cell `{gid}` is not in the assignment: graded as an ordinary cell")
        elif _is_protected(originals[gid]):
            given = (_as_released(originals[gid]), originals[gid].source)
            if cell.get("source") not in given or cell.cell_type != originals[gid].cell_type:
                notes.append(f"cell `{gid}` was edited: graded with the original")
            nb.cells[i] = _fresh_copy(originals[gid], nb, cell.get("id"))
        else:
            cell.metadata["nbgrader"] = copy.deepcopy(originals[gid].metadata["nbgrader"])
            if cell.cell_type != originals[gid].cell_type:  # e.g. turned into markdown
                nb.cells[i] = _fresh_copy(originals[gid], nb, cell.get("id"))
                nb.cells[i].source = cell.source
    order = [_grade_id(c) for c in source.cells if _grade_id(c)]
    for k, gid in enumerate(order):
        if not _is_protected(originals[gid]) or gid in {_grade_id(c) for c in nb.cells}:
            continue
        present = {_grade_id(c): j for j, c in enumerate(nb.cells) if _grade_id(c)}
        before = [present[g] for g in order[:k] if g in present]
        after = [present[g] for g in order[k + 1:] if g in present]
        at = max(before) + 1 if before else (after[0] if after else len(nb.cells))
        nb.cells.insert(at, _fresh_copy(originals[gid], nb))
        notes.append(f"cell `{gid}` was missing: put back and graded with the original")
    seen = set()
    for cell in nb.cells:  # copied cells share an id, which nbformat rejects
        if "id" in cell and cell["id"] in seen:
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell.get("id"))
    return nb, notes


# ---------------------------------------------------------------------------------------- execute

class _Execute(Execute):
    """nbgrader's Execute, remembering which cell runs so a kernel crash can be located."""

    running = Integer(-1)

    def preprocess_cell(self, cell, resources, index):
        self.running = index
        return super().preprocess_cell(cell, resources, index)


def execute(nb, cwd: Path, timeout: int = DEFAULT_TIMEOUT) -> str | None:
    """Run ``nb`` in place in a fresh kernel; returns None, or why the run stopped early."""
    nb, _ = ClearOutput().preprocess(nb, {})
    runner = _Execute(timeout=timeout, kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
                      extra_arguments=list(KERNEL_ARGS), iopub_timeout=IOPUB_TIMEOUT,
                      raise_on_iopub_timeout=False)
    runner.error_on_timeout = {
        "ename": "CellTimeoutError",
        "evalue": f"no result after {timeout} s (the per-cell time limit); the cell was interrupted. "
                  "An endless loop? A much slower method than intended?",
        "traceback": [f"CellTimeoutError: cell interrupted after {timeout} s"],
    }
    try:
        runner.preprocess(nb, {"metadata": {"path": str(cwd)}})
    except DeadKernelError:
        return f"the kernel died while running cell {runner.running} ({_first_line(nb, runner.running)})"
    except Exception as exc:  # noqa: BLE001 - kernel failed to start, lost connection, ...
        return f"the run stopped at cell {runner.running}: {type(exc).__name__}: {exc}"
    return None


def _first_line(nb, index: int) -> str:
    if 0 <= index < len(nb.cells):
        lines = [ln for ln in nb.cells[index].source.splitlines() if ln.strip()]
        return f"`{lines[0].strip()[:60]}`" if lines else "an empty cell"
    return "no cell"


# ---------------------------------------------------------------------------------------- score

def error_text(cell) -> str:
    """The error a cell raised, as the student should read it (no colour codes)."""
    errors = [out for out in cell.get("outputs", []) if out.output_type == "error"]
    if not errors:
        return ""
    # a timeout shows as the KeyboardInterrupt of the interrupt, then our CellTimeoutError: say why
    out = next((e for e in errors if e.ename == "CellTimeoutError"), errors[0])
    text = f"{out.ename}: {out.evalue}".strip()
    if out.ename == "NotImplementedError":
        text += " (this exercise still raises NotImplementedError: it is not done yet)"
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


def grade_notebook(submission, source, student: str = "student", notebook: str = "notebook",
                   cwd: Path | None = None, timeout: int = DEFAULT_TIMEOUT) -> NotebookGrade:
    """Restore, execute and score one submission (NotebookNodes) against its solution ``source``."""
    nb, notes = restore_locked_cells(submission, source)
    crash = execute(nb, cwd or Path.cwd(), timeout)
    if crash:
        notes.append(f"{crash}: by the course rule the whole notebook scores 0.")
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
        rows.append(GradeRow(student, notebook, _grade_id(cell), points, max_points, status, message))
    return NotebookGrade(student, notebook, rows, notes, nb)


# ---------------------------------------------------------------------------------------- batch

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


def _source_for(path: Path, submission, sources: dict[str, object]) -> str | None:
    """The source notebook's file name: same name, else the one sharing most grade ids."""
    if path.name in sources:
        return path.name
    ids = {_grade_id(c) for c in submission.cells if _grade_id(c)} if submission is not None else set()
    overlap = {name: len(ids & {_grade_id(c) for c in nb.cells}) for name, nb in sources.items()}
    best = max(overlap, key=overlap.get, default=None)
    return best if best and overlap[best] else None


def _placeholder_rows(student, name, source, status, message) -> list[GradeRow]:
    if source is None:
        return [GradeRow(student, name, "", 0.0, 0.0, status, message)]
    return [GradeRow(student, name, _grade_id(c), 0.0, float(c.metadata.nbgrader["points"]), status, message)
            for c in source.cells if is_grade(c)]


def grade_one(student: str, path: Path, sources: dict[str, object], source_dir: Path,
              timeout: int) -> NotebookGrade:
    """Grade one file, turning every problem into 0-point rows instead of an exception."""
    try:
        submission = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, ...
        source = sources.get(path.name)
        message = f"{path} is not a readable notebook ({type(exc).__name__}: {exc})"
        return NotebookGrade(student, path.name, _placeholder_rows(student, path.name, source, "unreadable", message),
                             [message])
    name = _source_for(path, submission, sources)
    if name is None:
        message = f"{path.name} matches no notebook in {source_dir} (by name or grade ids)"
        return NotebookGrade(student, path.name, _placeholder_rows(student, path.name, None, "missing source",
                                                                   message), [message])
    try:
        return grade_notebook(submission, sources[name], student, name, source_dir, timeout)
    except Exception as exc:  # noqa: BLE001 - one broken submission never stops the batch
        message = f"grading failed: {type(exc).__name__}: {exc}"
        return NotebookGrade(student, name, _placeholder_rows(student, name, sources[name], "unreadable", message),
                             [message])


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


def grade_submissions(paths: list[str | Path], source_dir: Path | None = None, out_dir: Path | None = None,
                      timeout: int = DEFAULT_TIMEOUT, log=print) -> pd.DataFrame:
    """Grade every submission under ``paths``; write the gradebook, feedback and executed copies.

    Writes ``out_dir/gradebook.csv`` (student, notebook, grade_id, points, max_points, status),
    ``out_dir/feedback/<student>.md`` and ``out_dir/executed/<student>/<notebook>``. Default
    ``source_dir`` is notebooks/, ``out_dir`` build/grades/. Returns the gradebook.
    """
    source_dir = Path(source_dir) if source_dir else repo_root() / "notebooks"
    out_dir = Path(out_dir) if out_dir else build_dir() / "grades"
    sources = {p.name: nbformat.read(p, as_version=4) for p in sorted(source_dir.glob("*.ipynb"))}
    if not sources:
        raise FileNotFoundError(f"no solution notebooks in {source_dir}: pass --source <folder>")
    by_student: dict[str, list[NotebookGrade]] = {}
    for student, path in find_submissions(paths):
        graded = grade_one(student, path, sources, source_dir, timeout)
        by_student.setdefault(student, []).append(graded)
        if graded.executed is not None:
            target = out_dir / "executed" / student / graded.notebook
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(graded.executed, target)
        log(f"{student:<20} {graded.notebook:<36} {graded.points:g} / {graded.max_points:g}"
            + (f"  ({graded.notes[-1]})" if graded.notes else ""))
    (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
    for student, grades in by_student.items():
        (out_dir / "feedback" / f"{student}.md").write_text(feedback_markdown(student, grades), encoding="utf-8")
    rows = [asdict(r) for grades in by_student.values() for g in grades for r in g.rows]
    columns = ["student", "notebook", "grade_id", "points", "max_points", "status"]
    book = pd.DataFrame(rows, columns=columns + ["message"])[columns]
    book.to_csv(out_dir / "gradebook.csv", index=False)
    return book


def set_fast(fast: bool | None) -> None:
    """``--fast``/``--full`` on the command line: the kernels inherit ``LABUTILS_FAST``."""
    if fast is not None:
        os.environ["LABUTILS_FAST"] = "1" if fast else "0"
