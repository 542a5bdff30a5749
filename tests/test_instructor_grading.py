"""Grading with kernels: the failure modes on the fixture notebook, parallel = serial, the console
of ``grade``, nbgrader's own course directory, and one real course notebook.

Only the first course notebook (the quickest) is graded here: executing every solution notebook
once more would repeat what the notebook tests (nbval) already do. Its solution must score full
marks and its blank student version 0, stopping at the first exercise with the stub's message.
All tests here start kernels (marked slow).
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

pytest.importorskip("nbgrader")

from instructor_fixture import CUBE, SQUARE, TIMEOUT, cell_by_id, fixture_notebook, with_solutions  # noqa: E402
from nbgrader.utils import is_solution  # noqa: E402

from labutils.instructor import grade_submissions, make_course, student_version  # noqa: E402
from labutils.instructor.__main__ import main  # noqa: E402
from labutils.instructor.sandbox import choose_runner  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
FIRST_NOTEBOOK = sorted((ROOT / "notebooks").glob("*.ipynb"))[0]
RUNNER, SANDBOX_LINE = choose_runner(True)  # the sandbox when bubblewrap works here, as `grade` does

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


def write_submissions(root: Path, makers: dict) -> Path:
    """submissions/<student>/fix.ipynb for each maker, and the source folder; returns the folder."""
    (root / "source").mkdir(exist_ok=True)
    nbformat.write(fixture_notebook(), root / "source" / "fix.ipynb")
    blank = student_version(fixture_notebook())
    for student, make in makers.items():
        (root / "subs" / student).mkdir(parents=True)
        nbformat.write(make(copy.deepcopy(blank)), root / "subs" / student / "fix.ipynb")
    return root / "subs"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One parallel grading run (2 kernels) over one submission per failure mode and a broken file."""
    root = tmp_path_factory.mktemp("batch")
    subs = write_submissions(root, {**STUDENTS, "tampered": _tampered})
    (subs / "broken").mkdir()
    (subs / "broken" / "fix.ipynb").write_text("{ this is not json")
    book = grade_submissions([subs], root / "source", root / "out", timeout=TIMEOUT, log=lambda s: None, jobs=2,
                             runner=RUNNER, progress=False)
    return book, root / "out", root


def _points(book, student):
    rows = book[book.student == student].set_index("grade_id")
    return rows.points.to_dict(), rows.status.to_dict()


def test_gradebook_columns_and_totals(batch):
    book, out, _ = batch
    assert list(pd.read_csv(out / "gradebook.csv").columns) == ["student", "notebook", "grade_id", "points",
                                                                "max_points", "status"]
    assert sorted(book.student.unique()) == ["blank", "broken", "crash", "hidden", "loop", "solution", "tampered"]
    assert (book.max_points == book.grade_id.map({"square-check": 2.0, "cube-check": 3.0})).all()


def test_solution_full_marks_despite_stderr_warning_and_returned_value(batch):
    assert _points(batch[0], "solution") == ({"square-check": 2.0, "cube-check": 3.0},
                                            {"square-check": "passed", "cube-check": "passed"})
    assert "replaced" not in (batch[1] / "feedback" / "solution.md").read_text(), "no false alarm of the guard"


def test_blank_scores_zero_and_the_feedback_says_what_to_do(batch):
    points, status = _points(batch[0], "blank")
    assert points == {"square-check": 0.0, "cube-check": 0.0} and set(status.values()) == {"failed"}
    feedback = (batch[1] / "feedback" / "blank.md").read_text()
    assert "Exercise 1: write `square` in this cell" in feedback and "not done yet" in feedback


def test_endless_loop_times_out_in_that_cell_only(batch):
    points, status = _points(batch[0], "loop")
    assert points == {"square-check": 2.0, "cube-check": 0.0} and status["cube-check"] == "timeout"
    executed = nbformat.read(batch[1] / "executed" / "loop" / "fix.ipynb", as_version=4)
    assert "16.0" in executed.cells[-1].outputs[0].text, "the cells after the timeout still ran"


def test_hidden_and_tampered_checks_are_graded_with_the_original(batch):
    assert _points(batch[0], "hidden")[0] == {"square-check": 0.0, "cube-check": 3.0}
    assert _points(batch[0], "tampered")[0] == {"square-check": 0.0, "cube-check": 0.0}
    feedback = (batch[1] / "feedback" / "tampered.md").read_text()
    assert "`square-check` was missing" in feedback and "`cube-check` was edited" in feedback
    assert "square: 1 of 3 entries differ" in feedback, "the failed check's message reaches the student"


def test_kernel_crash_scores_zero_and_the_batch_goes_on(batch):
    points, status = _points(batch[0], "crash")
    assert points == {"square-check": 0.0, "cube-check": 0.0} and set(status.values()) == {"kernel died"}
    assert "kernel died" in (batch[1] / "feedback" / "crash.md").read_text()
    assert _points(batch[0], "broken")[1] == {"square-check": "unreadable", "cube-check": "unreadable"}
    assert sum(_points(batch[0], "solution")[0].values()) == 5.0


def test_serial_grading_gives_the_same_gradebook(batch):
    """One kernel at a time and no sandbox: the same rows as the parallel (sandboxed) run."""
    book, _, root = batch
    quick = ["blank", "crash", "hidden", "solution", "tampered"]  # the endless loop adds nothing here
    serial = grade_submissions([root / "subs" / s for s in quick], root / "source", root / "serial",
                               timeout=TIMEOUT, log=lambda s: None, jobs=1, progress=False)
    parallel = book[book.student.isin(quick)].sort_values(["student", "grade_id"]).reset_index(drop=True)
    assert serial.sort_values(["student", "grade_id"]).reset_index(drop=True).equals(parallel)


def test_grade_command_console_is_for_a_person(tmp_path, capfd):
    subs = write_submissions(tmp_path, {"zoe": STUDENTS["solution"], "yan": STUDENTS["blank"]})
    assert main(["grade", str(subs), "--source", str(tmp_path / "source"), "--out", str(tmp_path / "out"),
                 "--timeout", str(TIMEOUT), "--fast", "--jobs", "2"]) == 0
    out, err = capfd.readouterr()
    assert "WARNING" not in out + err and "Kernel is running" not in out + err, "no kernel chatter"
    lines = out.splitlines()
    assert lines[0] == SANDBOX_LINE
    assert [ln.split()[:5] for ln in lines if "fix.ipynb" in ln and " / " in ln] in (
        [["zoe", "fix.ipynb", "5", "/", "5"], ["yan", "fix.ipynb", "0", "/", "5"]],
        [["yan", "fix.ipynb", "0", "/", "5"], ["zoe", "fix.ipynb", "5", "/", "5"]]), "one line per submission"
    assert any(ln.split() == ["(max)", "5", "5"] for ln in lines), "a summary table at the end"
    assert "graded 2 submissions" in out
    book = pd.read_csv(tmp_path / "out" / "gradebook.csv")
    assert book.groupby("student").points.sum().to_dict() == {"yan": 0.0, "zoe": 5.0}
    executed = nbformat.read(tmp_path / "out" / "executed" / "zoe" / "fix.ipynb", as_version=4)
    assert executed.cells[1].outputs[0].text == "FAST mode: True\n", "--fast reaches the kernel"


def test_nbgrader_course_directory(tmp_path):
    """The same notebook through nbgrader's own generate_assignment and autograde."""
    nbformat.write(fixture_notebook(), tmp_path / "fix.ipynb")
    course = tmp_path / "course"
    make_course(course, [str(tmp_path / "fix.ipynb")], assignment="ps1")
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


@pytest.fixture(scope="module")
def course_notebook(tmp_path_factory):
    """The first course notebook's solution and blank student version, graded in FAST mode."""
    root = tmp_path_factory.mktemp("course")
    solution = nbformat.read(FIRST_NOTEBOOK, as_version=4)
    for student, nb in [("solution", solution), ("blank", student_version(solution, FIRST_NOTEBOOK.name))]:
        (root / student).mkdir()
        nbformat.write(nb, root / student / FIRST_NOTEBOOK.name)
    book = grade_submissions([root / "solution", root / "blank"], FIRST_NOTEBOOK.parent, root / "out", timeout=300,
                             log=lambda s: None, jobs=2, fast=True, runner=RUNNER, progress=False)
    return book, root / "out"


def test_course_notebook_solution_scores_full_marks(course_notebook):
    book, out = course_notebook
    mine = book[book.student == "solution"]
    assert len(mine) and (mine.points == mine.max_points).all(), mine.to_string()
    assert "- " not in (out / "feedback" / "solution.md").read_text(), "no notes (nothing restored or replaced)"


def test_course_notebook_blank_scores_zero_and_stops_at_its_first_exercise(course_notebook):
    book, out = course_notebook
    mine = book[book.student == "blank"]
    assert (mine.points == 0).all() and (mine.status == "failed").all(), mine.to_string()
    cells = nbformat.read(out / "executed" / "blank" / FIRST_NOTEBOOK.name, as_version=4).cells
    first_exercise = next(i for i, c in enumerate(cells) if is_solution(c))
    errors = [i for i, c in enumerate(cells) if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert errors and errors[0] in (first_exercise, first_exercise + 1), \
        f"first error in cell {errors[:1]}, the first exercise is cell {first_exercise}"
    (error,) = [o for o in cells[errors[0]].outputs if o.output_type == "error"]
    assert error.ename == "NotImplementedError" and error.evalue.startswith("Exercise 1: write `")
