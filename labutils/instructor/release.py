"""Student versions of the course notebooks, made with nbgrader's own preprocessors.

The pipeline is nbgrader's ``generate_assignment`` without the parts that need a course database
or configuration (``SaveCells``, ``IncludeHeaderFooter``, ``InstantiateTests``): solutions become a
stub that says what to do (``raise NotImplementedError("Exercise 2: write `rnn_step_backward` in
this cell ...")``), hidden tests are removed, outputs cleared, check cells locked and their
checksums stored. A final leak check refuses to write a student version that still contains
a line of solution or hidden-test text.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
                                    ClearSolutions, ComputeChecksums, LockCells)
from nbgrader.utils import is_solution

from ..config import build_dir, repo_root


def stub_for(number: int, name: str) -> str:
    """The code that replaces the solution of exercise ``number`` (grade id ``name``)."""
    return ("# YOUR CODE HERE\n"
            f'raise NotImplementedError("Exercise {number}: write `{name}` in this cell (replace these '
            'two lines), run the cell, then run the check below it")')


class ClearSolutionsWithHints(ClearSolutions):
    """nbgrader's ClearSolutions whose code stub names the exercise and says what to do.

    Exercises are numbered in notebook order from 1, as the course's exercise headings are. Usable
    in an nbgrader configuration too (``course.py`` puts it into ``GenerateAssignment.preprocessors``).
    """

    def preprocess(self, nb, resources):
        solution_ids = [c.metadata.nbgrader["grade_id"] for c in nb.cells if is_solution(c)
                        and c.cell_type == "code"]
        self._numbers = {gid: k for k, gid in enumerate(solution_ids, start=1)}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if is_solution(cell) and cell.cell_type == "code":
            gid = cell.metadata.nbgrader["grade_id"]
            self.code_stub = {**self.code_stub, resources["language"]: stub_for(self._numbers[gid], gid)}
        return super().preprocess_cell(cell, resources, cell_index)


# Same order as nbgrader's GenerateAssignment: checksums before *and* after the hidden tests go,
# so the stored checksum is the one of the cell the student sees.
STUDENT_PIPELINE = (LockCells, ClearSolutionsWithHints, ClearOutput, CheckCellMetadata, ComputeChecksums,
                    ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata)

REGIONS = (("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
STUB_LINES = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}


def source_notebooks(names: list[str] | None = None) -> list[Path]:
    """The notebooks to work on: ``names`` (paths or stems such as ``01_bptt``) or all of notebooks/."""
    folder = repo_root() / "notebooks"
    if not names:
        return sorted(folder.glob("*.ipynb"))
    paths = []
    for name in names:
        path = Path(name)
        if not path.exists():
            path = folder / Path(name).with_suffix(".ipynb").name
        if not path.exists():
            raise FileNotFoundError(f"no notebook {name!r}: give a path or a name from {folder}")
        paths.append(path)
    return paths


def student_version(solution_nb, name: str = "notebook"):
    """A student copy of ``solution_nb`` (a NotebookNode, left untouched).

    Raises ValueError naming the notebook when nbgrader rejects the markers or metadata, or when
    solution text would leak into the student copy.
    """
    nb = copy.deepcopy(solution_nb)
    resources: dict = {}
    for step in STUDENT_PIPELINE:
        try:
            nb, resources = step().preprocess(nb, resources)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"{name}: nbgrader's {step.__name__} refused the notebook: {exc}. Check the "
                             "### BEGIN/END markers and the cell metadata (course guide §4).") from exc
    leaks = leaked_lines(solution_nb, nb)
    if leaks:
        raise ValueError(f"{name}: the student version would still contain solution text {leaks[:3]}; "
                         "put it between ### BEGIN SOLUTION and ### END SOLUTION in a cell marked as "
                         "a solution cell.")
    return nb


def _split_regions(source: str) -> tuple[list[str], list[str]]:
    """Lines of ``source`` inside marked regions, and lines outside them."""
    inside, outside, closing = [], [], None
    for line in source.split("\n"):
        if closing is None:
            opened = [end for begin, end in REGIONS if begin in line]
            if opened:
                closing = opened[0]
            else:
                outside.append(line)
        elif closing in line:
            closing = None
        else:
            inside.append(line)
    return inside, outside


def solution_text(nb) -> set[str]:
    """The distinctive lines of solution and hidden-test text in a solution notebook.

    A line counts when it occurs inside a ``### BEGIN SOLUTION``/``### BEGIN HIDDEN TESTS`` region
    (or anywhere in a solution cell without markers) and nowhere outside those regions.
    """
    inside, outside = [], []
    for cell in nb.cells:
        if is_solution(cell) and "BEGIN SOLUTION" not in cell.source:
            inside += cell.source.split("\n")
            continue
        cell_inside, cell_outside = _split_regions(cell.source)
        inside += cell_inside
        outside += cell_outside
    seen_outside = {line.strip() for line in outside}
    return {line.strip() for line in inside
            if line.strip() and line.strip() not in seen_outside and line.strip() not in STUB_LINES}


def leaked_lines(solution_nb, student_nb) -> list[str]:
    """Solution/hidden-test lines of ``solution_nb`` that are still in ``student_nb``."""
    secret = solution_text(solution_nb)
    shown = {line.strip() for cell in student_nb.cells for line in cell.source.split("\n")}
    markers = [m for pair in REGIONS for m in pair if any(m in line for line in shown)]
    return sorted(secret & shown) + markers


def release(names: list[str] | None = None, out_dir: Path | None = None) -> list[Path]:
    """Write the student version of each notebook to ``out_dir`` (default build/student/).

    Raises ValueError naming every notebook that could not be released, after writing the others.
    """
    out_dir = Path(out_dir) if out_dir else build_dir() / "student"
    out_dir.mkdir(parents=True, exist_ok=True)
    written, problems = [], []
    for path in source_notebooks(names):
        try:  # one broken notebook must not hold back the others
            student = student_version(nbformat.read(path, as_version=4), path.name)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        nbformat.validate(student)
        target = out_dir / path.name
        nbformat.write(student, target)
        written.append(target)
    if problems:
        done = f" (the other {len(written)} were written)" if written else ""
        raise ValueError("\n".join(problems) + done)
    return written
