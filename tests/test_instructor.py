"""Instructor tools without kernels (seconds): student versions and their stubs, restoring check
cells, the exercise list, finding submissions, the guard's plan, the gradebook's summary.

Grading with kernels is in test_instructor_grading.py, the sandbox and tampering submissions in
test_instructor_sandbox.py, the student's workbook and check in test_workbook.py. The fixture
notebook is tests/instructor_fixture.py.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell

pytest.importorskip("nbgrader")

from instructor_fixture import SQUARE, cell_by_id, fixture_notebook, meta  # noqa: E402
from nbgrader.utils import compute_checksum, is_grade, is_solution  # noqa: E402

from labutils.instructor import restore_locked_cells, student_version, write_listing  # noqa: E402
from labutils.instructor.__main__ import main  # noqa: E402
from labutils.instructor.course import CONFIG  # noqa: E402
from labutils.instructor.execute import bound_names, guard_plan  # noqa: E402
from labutils.instructor.gradebook import find_submissions, summary_table  # noqa: E402
from labutils.instructor.release import REGIONS, release  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STUB = re.compile(r'raise NotImplementedError\("Exercise (\d+): write `([\w.]+)` in this cell')


@pytest.fixture()
def source_dir(tmp_path):
    folder = tmp_path / "source"
    folder.mkdir()
    nbformat.write(fixture_notebook(), folder / "fix.ipynb")
    return folder


# ------------------------------------------------------------------------------------ release

def test_student_version_of_the_fixture():
    solution = fixture_notebook()
    student = student_version(solution, "fix")
    text = "\n".join(c.source for c in student.cells)
    assert "return x * x" not in text and "x ** 3" not in text and "square(-3.0)" not in text
    assert "BEGIN" not in text and "END" not in text
    assert STUB.findall(text) == [("1", "square"), ("2", "cube")], "each stub names its exercise"
    assert "run the check below it" in text, "the stub says what to do"
    assert 'def square(x):\n    """x squared, elementwise."""' in text, "the signature and docstring stay"
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if is_grade(cell):
            assert cell.metadata["deletable"] is False and cell.metadata["editable"] is False
        if is_grade(cell) or is_solution(cell):
            assert cell.metadata.nbgrader["checksum"] == compute_checksum(cell)
    assert solution.cells[2].source == SQUARE, "the solution notebook is not modified"
    nbformat.validate(student)


@pytest.mark.parametrize("breakage, message", [
    (lambda nb: setattr(nb.cells[2], "source", SQUARE.replace("### END SOLUTION", "")), "no end solution"),
    (lambda nb: nb.cells[1].__setitem__("source", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "non-solution"),
    (lambda nb: nb.cells[6].__setitem__("source", "### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS"),
     "non-grade"),
])
def test_release_names_the_notebook_when_markers_are_wrong(breakage, message):
    nb = fixture_notebook()
    breakage(nb)
    with pytest.raises(ValueError, match=f"(?i)fix.ipynb.*{message}"):
        student_version(nb, "fix.ipynb")


def test_release_and_list_commands(source_dir, tmp_path):
    assert main(["release", str(source_dir / "fix.ipynb"), "--out", str(tmp_path / "student")]) == 0
    released = nbformat.read(tmp_path / "student" / "fix.ipynb", as_version=4)
    assert "return x * x" not in "\n".join(c.source for c in released.cells)
    assert main(["list", str(source_dir / "fix.ipynb"), "--out", str(tmp_path / "ex.md")]) == 0
    listing = (tmp_path / "ex.md").read_text()
    assert "| fix.ipynb | `square` | `square-check` | 2 |" in listing
    assert "| fix.ipynb | `cube` | `cube-check` | 3 |" in listing and "| **all** | 2 | 5 |" in listing
    assert main(["release", str(tmp_path / "nope.ipynb")]) == 2, "a missing notebook is a clear error"


def test_course_config_uses_the_same_stubs():
    namespace = {"get_config": lambda: __import__("traitlets.config", fromlist=["Config"]).Config()}
    exec(compile(CONFIG, "nbgrader_config.py", "exec"), namespace)
    names = [p.__name__ for p in namespace["c"].GenerateAssignment.preprocessors]
    assert "ClearSolutionsWithHints" in names and "ClearSolutions" not in names


# ------------------------------------------------------------------------------------ restore

def test_restore_puts_back_deleted_edited_and_hidden_checks():
    source = fixture_notebook()
    sub = student_version(source)
    del sub.cells[3]  # square-check deleted
    cell_by_id(sub, "cube-check").source = "pass"  # cube-check edited
    cell_by_id(sub, "cube-check").metadata["tags"] = ["skip-execution"]
    cell_by_id(sub, "cube").metadata.nbgrader["points"] = 100  # solution metadata tampered
    sub.cells.append(new_code_cell("pass", metadata=meta("bonus", 100)))  # a graded cell of their own
    sub.cells.append(copy.deepcopy(cell_by_id(sub, "cube-check")))  # a duplicate
    sub.cells.append(new_code_cell("x = 1", metadata={"nbgrader": {"locked": True}}))  # "read-only", no id
    restored, notes = restore_locked_cells(sub, source)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells]
    assert [i for i in ids if i] == ["square", "square-check", "cube", "cube-check"]
    assert ids.index("square-check") == ids.index("square") + 1, "put back right after its exercise"
    assert cell_by_id(restored, "square-check").source == source.cells[3].source, "hidden tests are back"
    assert cell_by_id(restored, "cube-check").source == source.cells[5].source
    assert "tags" not in cell_by_id(restored, "cube-check").metadata
    assert "points" not in cell_by_id(restored, "cube").metadata.nbgrader
    assert "NotImplementedError" in cell_by_id(restored, "square").source, "student code kept"
    assert "nbgrader" not in restored.cells[-1].metadata, "nbgrader flags without a grade id are dropped"
    assert any("missing" in n for n in notes) and any("edited" in n for n in notes)
    assert any("bonus" in n for n in notes)
    nbformat.validate(restored)


def test_find_submissions_layouts(tmp_path):
    for rel in ["subs/alice/fix.ipynb", "subs/bob/lab1/fix.ipynb", "subs/.ipynb_checkpoints/fix.ipynb",
                "loose/fix.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    found = find_submissions([tmp_path / "subs", tmp_path / "loose" / "fix.ipynb"])
    assert [(s, p.relative_to(tmp_path).as_posix()) for s, p in found] == [
        ("alice", "subs/alice/fix.ipynb"), ("bob", "subs/bob/lab1/fix.ipynb"), ("loose", "loose/fix.ipynb")]
    with pytest.raises(FileNotFoundError, match="nope"):
        find_submissions([tmp_path / "nope"])


# ------------------------------------------------------------------------------------ guard, summary

def test_guard_plan_reads_the_instructor_imports_only():
    nb = fixture_notebook()
    nb.cells.insert(1, new_code_cell("%matplotlib inline\nimport torch.nn.functional as F\n"
                                     "import matplotlib.pyplot as plt\nfrom numpy import allclose as same"))
    cell_by_id(nb, "square").source = "import scipy\n" + SQUARE  # a solution cell: not the instructor's
    plan = guard_plan(nb)
    assert plan["bindings"] == {"np": "numpy", "labutils": "labutils", "F": "torch.nn.functional",
                                "same": "numpy.allclose", "assert_close": "labutils.checks.assert_close"}
    assert {"torch.nn.functional", "labutils.checks", "numpy"} <= set(plan["modules"])
    assert "scipy" not in plan["modules"] and "matplotlib.pyplot" not in plan["modules"]


def test_bound_names_of_a_cell():
    source = "import numpy as np\nfrom a.b import c as d\nx, (y, z) = 1, (2, 3)\ndef f():\n    w = 1\nclass K: pass"
    assert bound_names(source) == ["K", "d", "f", "np", "x", "y", "z"]


def test_summary_table():
    book = pd.DataFrame([("ann", "a.ipynb", "x", 2.0, 2.0, "passed"), ("ann", "b.ipynb", "y", 0.0, 3.0, "failed"),
                         ("bob", "a.ipynb", "x", 1.0, 2.0, "partial")],
                        columns=["student", "notebook", "grade_id", "points", "max_points", "status"])
    lines = summary_table(book).splitlines()
    assert lines[-3].split() == ["ann", "2", "0", "2"] and lines[-2].split() == ["bob", "1", "0", "1"]
    assert lines[-1].split() == ["(max)", "2", "3", "5"]


# ------------------------------------------------------------------------------------ course notebooks

def _region_lines(source):
    """(lines inside solution/hidden-test regions, lines outside), stripped."""
    inside, outside, end = [], [], None
    for line in source.split("\n"):
        if end is None and any(begin in line for begin, _ in REGIONS):
            end = next(e for b, e in REGIONS if b in line)
        elif end is not None and end in line:
            end = None
        else:
            (inside if end else outside).append(line.strip())
    return inside, outside


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_version_has_no_solution_text_and_says_what_to_do(path, tmp_path):
    solution = nbformat.read(path, as_version=4)
    (written,) = release([str(path)], tmp_path)
    student = nbformat.read(written, as_version=4)
    student_text = {ln.strip() for c in student.cells for ln in c.source.split("\n")}
    inside, outside = [], set()
    for cell in solution.cells:
        cell_in, cell_out = _region_lines(cell.source)
        inside += cell_in
        outside |= set(cell_out)
    secret = {ln for ln in inside if ln and ln not in outside}
    assert not secret & student_text, f"solution text in the student version: {sorted(secret & student_text)[:3]}"
    assert not any(marker in ln for ln in student_text for pair in REGIONS for marker in pair)
    exercises = [c.metadata.nbgrader["grade_id"] for c in student.cells if is_solution(c)]
    stubs = [STUB.findall(c.source) for c in student.cells if is_solution(c)]
    assert [s[0] if s else None for s in stubs] == [(str(k), gid) for k, gid in enumerate(exercises, 1)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listing_names_every_check(path, tmp_path):
    listing = write_listing([str(path)], tmp_path / "ex.md").read_text()
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if is_grade(cell):
            assert f"`{cell.metadata.nbgrader['grade_id']}`" in listing
