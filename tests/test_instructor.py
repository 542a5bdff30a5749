"""Instructor tools (issue 10): student versions, autograding, gradebook, nbgrader course directory.

Failure modes are shown on a tiny fixture notebook made here (two exercises, a hidden test, a
warning on stderr, a check that ends with a value-returning call). The acceptance tests for the
course notebooks are parametrised over whatever notebooks/*.ipynb exist, and execute each
notebook's solution and blank student version once (module-scoped fixture, FAST mode).
Tests that start kernels are marked slow.
"""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytest.importorskip("nbgrader")

from nbgrader.utils import compute_checksum, is_grade, is_solution  # noqa: E402

from labutils.instructor import (grade_notebook, grade_submissions, make_course, release,  # noqa: E402
                                 restore_locked_cells, student_version, write_listing)
from labutils.instructor.__main__ import main  # noqa: E402
from labutils.instructor.grade import find_submissions  # noqa: E402
from labutils.instructor.release import REGIONS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
FIXTURE_TIMEOUT = 20  # s per cell: enough for `import torch` on a busy 2-core machine


# ------------------------------------------------------------------------------------ fixture

def _meta(grade_id, points=None):
    if points is None:
        return {"nbgrader": {"grade_id": grade_id, "solution": True, "grade": False, "locked": False,
                             "schema_version": 3}}
    return {"nbgrader": {"grade_id": grade_id, "solution": False, "grade": True, "locked": True,
                         "points": points, "schema_version": 3}}


SQUARE = 'def square(x):\n    """x squared, elementwise."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION'
CUBE = "def cube(x):\n    ### BEGIN SOLUTION\n    return x ** 3\n    ### END SOLUTION"


def fixture_notebook():
    """Two exercises in the course's format; square-check has a hidden test, cube-check warns on
    stderr and ends with assert_close, which returns a number."""
    nb = new_notebook(metadata={"kernelspec": dict(KERNELSPEC)})
    nb.cells = [
        new_markdown_cell("# Fixture\nTwo small exercises."),
        new_code_cell('import numpy as np\nimport labutils\nprint("FAST mode:", labutils.FAST)'),
        new_code_cell(SQUARE, metadata=_meta("square")),
        new_code_cell('from labutils.checks import assert_close\nimport numpy as np\n'
                      'assert_close("square", square(np.arange(3.0)), np.array([0.0, 1.0, 4.0]))\n'
                      '### BEGIN HIDDEN TESTS\nassert square(-3.0) == 9.0, "square(-3) should be 9"\n'
                      '### END HIDDEN TESTS', metadata=_meta("square-check", 2)),
        new_code_cell(CUBE, metadata=_meta("cube")),
        new_code_cell('import warnings\nfrom labutils.checks import assert_close\n'
                      'warnings.warn("a harmless warning on stderr")\n'
                      'assert_close("cube", cube(2.0), 8.0)', metadata=_meta("cube-check", 3)),
        new_code_cell("print(square(4.0))"),
    ]
    return nb


def with_solutions(nb, **sources):
    """A copy of ``nb`` whose solution cells ``name`` get ``sources[name]`` as their code."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in sources:
            cell.source = sources[gid]
    return nb


def cell_by_id(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


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
    assert text.count("raise NotImplementedError()") == 2
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


# ------------------------------------------------------------------------------------ restore

def test_restore_puts_back_deleted_edited_and_hidden_checks():
    source = fixture_notebook()
    sub = student_version(source)
    del sub.cells[3]  # square-check deleted
    cell_by_id(sub, "cube-check").source = "pass"  # cube-check edited
    cell_by_id(sub, "cube-check").metadata["tags"] = ["skip-execution"]
    cell_by_id(sub, "cube").metadata.nbgrader["points"] = 100  # solution metadata tampered
    sub.cells.append(new_code_cell("pass", metadata=_meta("bonus", 100)))  # a graded cell of their own
    sub.cells.append(copy.deepcopy(cell_by_id(sub, "cube-check")))  # a duplicate
    restored, notes = restore_locked_cells(sub, source)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells]
    assert [i for i in ids if i] == ["square", "square-check", "cube", "cube-check"]
    assert ids.index("square-check") == ids.index("square") + 1, "put back right after its exercise"
    assert cell_by_id(restored, "square-check").source == source.cells[3].source, "hidden tests are back"
    assert cell_by_id(restored, "cube-check").source == source.cells[5].source
    assert "tags" not in cell_by_id(restored, "cube-check").metadata
    assert "points" not in cell_by_id(restored, "cube").metadata.nbgrader
    assert cell_by_id(restored, "square").source.endswith("raise NotImplementedError()"), "student code kept"
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


# ------------------------------------------------------------------------------------ grading (kernels)

STUDENTS = {
    "solution": lambda nb: with_solutions(nb, square=SQUARE, cube=CUBE),
    "blank": lambda nb: nb,
    # an endless loop in cube: that check times out, square keeps its points
    "loop": lambda nb: with_solutions(nb, square=SQUARE, cube="def cube(x):\n    while True:\n        pass"),
    # passes the visible square test, fails the hidden one; cube right
    "hidden": lambda nb: with_solutions(nb, square="def square(x):\n    return x * abs(x)", cube=CUBE),
    # kills the kernel in the second exercise
    "crash": lambda nb: with_solutions(nb, square=SQUARE, cube="import os\nos._exit(1)"),
}


def _tampered(nb):
    """Wrong answers whose checks were deleted or edited to pass."""
    nb = with_solutions(nb, square="def square(x):\n    return x + x", cube="def cube(x):\n    return 3 * x")
    del nb.cells[3]
    cell_by_id(nb, "cube-check").source = "print('all good')"
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One grading run over a folder of submissions: one per failure mode, plus an unreadable file."""
    root = tmp_path_factory.mktemp("batch")
    (root / "source").mkdir()
    nbformat.write(fixture_notebook(), root / "source" / "fix.ipynb")
    blank = student_version(fixture_notebook())
    for student, make in {**STUDENTS, "tampered": _tampered}.items():
        (root / "subs" / student).mkdir(parents=True)
        nbformat.write(make(copy.deepcopy(blank)), root / "subs" / student / "fix.ipynb")
    (root / "subs" / "broken").mkdir()
    (root / "subs" / "broken" / "fix.ipynb").write_text("{ this is not json")
    book = grade_submissions([root / "subs"], root / "source", root / "out", timeout=FIXTURE_TIMEOUT, log=lambda s: None)
    return book, root / "out"


def _points(book, student):
    rows = book[book.student == student].set_index("grade_id")
    return rows.points.to_dict(), rows.status.to_dict()


@pytest.mark.slow
def test_gradebook_columns_and_totals(batch):
    book, out = batch
    assert list(pd.read_csv(out / "gradebook.csv").columns) == ["student", "notebook", "grade_id", "points",
                                                                "max_points", "status"]
    assert sorted(book.student.unique()) == ["blank", "broken", "crash", "hidden", "loop", "solution", "tampered"]
    assert (book.max_points == book.grade_id.map({"square-check": 2.0, "cube-check": 3.0})).all()


@pytest.mark.slow
def test_solution_full_marks_despite_stderr_warning_and_returned_value(batch):
    assert _points(batch[0], "solution") == ({"square-check": 2.0, "cube-check": 3.0},
                                            {"square-check": "passed", "cube-check": "passed"})


@pytest.mark.slow
def test_blank_scores_zero(batch):
    points, status = _points(batch[0], "blank")
    assert points == {"square-check": 0.0, "cube-check": 0.0} and set(status.values()) == {"failed"}
    assert "not done yet" in (batch[1] / "feedback" / "blank.md").read_text()


@pytest.mark.slow
def test_endless_loop_times_out_in_that_cell_only(batch):
    points, status = _points(batch[0], "loop")
    assert points == {"square-check": 2.0, "cube-check": 0.0} and status["cube-check"] == "timeout"
    executed = nbformat.read(batch[1] / "executed" / "loop" / "fix.ipynb", as_version=4)
    assert "16.0" in executed.cells[-1].outputs[0].text, "the cells after the timeout still ran"


@pytest.mark.slow
def test_hidden_and_tampered_checks_are_graded_with_the_original(batch):
    assert _points(batch[0], "hidden")[0] == {"square-check": 0.0, "cube-check": 3.0}
    assert _points(batch[0], "tampered")[0] == {"square-check": 0.0, "cube-check": 0.0}
    feedback = (batch[1] / "feedback" / "tampered.md").read_text()
    assert "`square-check` was missing" in feedback and "`cube-check` was edited" in feedback
    assert "square: 1 of 3 entries differ" in feedback, "the failed check's message reaches the student"


@pytest.mark.slow
def test_kernel_crash_scores_zero_and_the_batch_goes_on(batch):
    points, status = _points(batch[0], "crash")
    assert points == {"square-check": 0.0, "cube-check": 0.0} and set(status.values()) == {"kernel died"}
    assert "kernel died" in (batch[1] / "feedback" / "crash.md").read_text()
    assert _points(batch[0], "broken")[1] == {"square-check": "unreadable", "cube-check": "unreadable"}
    # students graded after the crash and the broken file were graded normally
    assert sum(_points(batch[0], "solution")[0].values()) == 5.0


@pytest.mark.slow
def test_grade_command(source_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABUTILS_FAST", "0")
    (tmp_path / "subs" / "zoe").mkdir(parents=True)
    nbformat.write(STUDENTS["solution"](student_version(fixture_notebook())), tmp_path / "subs" / "zoe" / "fix.ipynb")
    assert main(["grade", str(tmp_path / "subs"), "--source", str(source_dir), "--out", str(tmp_path / "out"),
                 "--timeout", str(FIXTURE_TIMEOUT), "--fast"]) == 0
    assert "zoe" in capsys.readouterr().out
    book = pd.read_csv(tmp_path / "out" / "gradebook.csv")
    assert book.points.tolist() == [2.0, 3.0] and book.student.unique().tolist() == ["zoe"]
    executed = nbformat.read(tmp_path / "out" / "executed" / "zoe" / "fix.ipynb", as_version=4)
    assert executed.cells[1].outputs[0].text == "FAST mode: True\n", "--fast reaches the kernel"


@pytest.mark.slow
def test_nbgrader_course_directory(tmp_path, source_dir):
    """The same notebook through nbgrader's own generate_assignment and autograde."""
    course = tmp_path / "course"
    make_course(course, [str(source_dir / "fix.ipynb")], assignment="ps1")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}

    def nbgrader(*args):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    nbgrader("generate_assignment", "ps1", "--force")
    released = nbformat.read(course / "release" / "ps1" / "fix.ipynb", as_version=4)
    ours = student_version(fixture_notebook())
    assert [(c.source, c.metadata) for c in released.cells] == [(c.source, c.metadata) for c in ours.cells]
    for student, make in [("alice", STUDENTS["solution"]), ("bob", STUDENTS["blank"])]:
        (course / "submitted" / student / "ps1").mkdir(parents=True)
        nbformat.write(make(copy.deepcopy(released)), course / "submitted" / student / "ps1" / "fix.ipynb")
    nbgrader("autograde", "ps1", "--create")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission("ps1", s).score for s in ("alice", "bob")}
    assert scores == {"alice": 5.0, "bob": 0.0}


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
def test_student_version_has_no_solution_text(path, tmp_path):
    solution = nbformat.read(path, as_version=4)
    (written,) = release([str(path)], tmp_path)
    student_text = {ln.strip() for c in nbformat.read(written, as_version=4).cells for ln in c.source.split("\n")}
    inside, outside = [], set()
    for cell in solution.cells:
        cell_in, cell_out = _region_lines(cell.source)
        inside += cell_in
        outside |= set(cell_out)
    secret = {ln for ln in inside if ln and ln not in outside}
    assert not secret & student_text, f"solution text in the student version: {sorted(secret & student_text)[:3]}"
    assert not any(marker in ln for ln in student_text for pair in REGIONS for marker in pair)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listing_names_every_check(path, tmp_path):
    listing = write_listing([str(path)], tmp_path / "ex.md").read_text()
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if is_grade(cell):
            assert f"`{cell.metadata.nbgrader['grade_id']}`" in listing


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.name)
def graded(request):
    """Grade the solution and the blank student version of one course notebook, in FAST mode."""
    path = request.param
    old = os.environ.get("LABUTILS_FAST")
    os.environ["LABUTILS_FAST"] = "1"
    try:
        solution = nbformat.read(path, as_version=4)
        blank = student_version(solution, path.name)
        yield {"solution": grade_notebook(solution, solution, "solution", path.name, path.parent),
               "blank": grade_notebook(blank, solution, "blank", path.name, path.parent),
               "source": solution}
    finally:
        if old is None:
            os.environ.pop("LABUTILS_FAST", None)
        else:
            os.environ["LABUTILS_FAST"] = old


def _has_checks(nb):
    return any(is_grade(c) for c in nb.cells)


@pytest.mark.slow
def test_solution_scores_full_marks(graded):
    result = graded["solution"]
    failed = [(r.grade_id, r.status, r.message[:300]) for r in result.rows if r.points != r.max_points]
    assert not failed and not result.notes, f"{result.notebook}: {failed} {result.notes}"


@pytest.mark.slow
def test_blank_student_version_scores_zero_everywhere(graded):
    result = graded["blank"]
    assert not result.notes, result.notes
    assert [r.grade_id for r in result.rows if r.points != 0] == []
    assert all(r.status == "failed" for r in result.rows)


@pytest.mark.slow
def test_blank_student_version_stops_at_its_first_exercise(graded):
    if not _has_checks(graded["source"]):
        pytest.skip("no exercises")
    cells = graded["blank"].executed.cells
    first_exercise = next(i for i, c in enumerate(cells) if is_solution(c))
    errors = [i for i, c in enumerate(cells) if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert errors and errors[0] in (first_exercise, first_exercise + 1), \
        f"first error in cell {errors[:1]}, the first exercise is cell {first_exercise}"
    (error,) = [o for o in cells[errors[0]].outputs if o.output_type == "error"]
    assert error.ename == "NotImplementedError"
