"""The student's workbook (``make workbook``) and self-check (``make check``) on the fixture notebook.

The workbook never overwrites a notebook the student has edited: it survives a second run byte for
byte, and a newer release goes beside it. ``check`` reports passed / failed / not attempted per
exercise on a blank, a partly done and a finished workbook (these start kernels: slow).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")

from instructor_fixture import CUBE, SQUARE, TIMEOUT, fixture_notebook, with_solutions  # noqa: E402

from labutils.instructor.__main__ import main  # noqa: E402
from labutils.instructor.workbook import check_workbook, make_workbook, report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "source" / "fix.ipynb"
    path.parent.mkdir()
    nbformat.write(fixture_notebook(), path)
    return path


def test_workbook_is_the_student_version(source, tmp_path):
    (message,) = make_workbook([str(source)], tmp_path / "workbook")
    assert message == "workbook/fix.ipynb: written"
    text = (tmp_path / "workbook" / "fix.ipynb").read_text()
    assert "return x * x" not in text and "Exercise 1: write `square` in this cell" in text


def test_an_edited_notebook_survives_byte_for_byte(source, tmp_path):
    folder = tmp_path / "workbook"
    make_workbook([str(source)], folder)
    mine = folder / "fix.ipynb"
    nb = nbformat.read(mine, as_version=4)
    nb.cells[2].source = SQUARE.replace("### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION", "")
    nbformat.write(nb, mine)
    edited = mine.read_bytes()

    (message,) = make_workbook([str(source)], folder)  # the same release again
    assert message == "workbook/fix.ipynb: up to date" and mine.read_bytes() == edited

    newer = nbformat.read(source, as_version=4)
    newer.cells[0].source += "\nA clarified introduction."
    nbformat.write(newer, source)
    (message,) = make_workbook([str(source)], folder)  # a newer release
    assert mine.read_bytes() == edited, "the edited notebook is never overwritten"
    (beside,) = folder.glob("fix.new-*.ipynb")
    assert beside.name in message and "kept as it is" in message
    assert "A clarified introduction." in beside.read_text()
    assert make_workbook([str(source)], folder) == ["workbook/fix.ipynb: up to date"]
    assert mine.read_bytes() == edited and len(list(folder.glob("fix.new-*.ipynb"))) == 1


def test_an_untouched_notebook_is_updated(source, tmp_path):
    folder = tmp_path / "workbook"
    make_workbook([str(source)], folder)
    newer = nbformat.read(source, as_version=4)
    newer.cells[0].source += "\nA clarified introduction."
    nbformat.write(newer, source)
    (message,) = make_workbook([str(source)], folder)
    assert "updated" in message and "A clarified introduction." in (folder / "fix.ipynb").read_text()
    assert not list(folder.glob("fix.new-*.ipynb"))


def test_workbook_command_and_gitignore(source, tmp_path, capsys):
    assert main(["workbook", str(source), "--out", str(tmp_path / "wb")]) == 0
    assert "wb/fix.ipynb: written" in capsys.readouterr().out
    assert "workbook/" in (ROOT / ".gitignore").read_text().splitlines()


def test_report_format():
    from labutils.instructor.workbook import ExerciseStatus

    text = report("fix.ipynb", [ExerciseStatus("fix.ipynb", 1, "square", "passed"),
                                ExerciseStatus("fix.ipynb", 2, "cube", "failed", "AssertionError: cube: wrong\nmore"),
                                ExerciseStatus("fix.ipynb", 3, "sq", "not attempted")])
    assert text.splitlines() == ["fix.ipynb: 1 of 3 exercises passed", "  ✓ Exercise 1 `square`: passed",
                                 "  ✗ Exercise 2 `cube`: failed", "      AssertionError: cube: wrong", "      more",
                                 "  · Exercise 3 `sq`: not attempted"]


def _workbook_with(folder: Path, source: Path, **answers) -> Path:
    make_workbook([str(source)], folder)
    nb = nbformat.read(folder / "fix.ipynb", as_version=4)
    nbformat.write(with_solutions(nb, **answers), folder / "fix.ipynb")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("answers, expected", [
    ({}, [("square", "not attempted"), ("cube", "not attempted")]),
    ({"square": "def square(x):\n    return x + x"}, [("square", "failed"), ("cube", "not attempted")]),
    ({"square": SQUARE, "cube": CUBE}, [("square", "passed"), ("cube", "passed")]),
], ids=["blank", "partly-done", "finished"])
def test_check_reports_every_exercise(source, tmp_path, answers, expected):
    folder = _workbook_with(tmp_path / "workbook", source, **answers)
    lines = []
    statuses = check_workbook(folder, [str(source)], jobs=1, timeout=TIMEOUT, log=lines.append, progress=False)
    assert [(s.exercise, s.status) for s in statuses] == expected
    if answers.get("square", "").endswith("x + x"):
        assert "square: 1 of 3 entries differ" in statuses[0].message, "the first failing check's message"
        assert "square: 1 of 3 entries differ" in lines[0]
