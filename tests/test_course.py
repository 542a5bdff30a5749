"""The six-plus notebooks read as one course: one skeleton, references a student can follow, and
check cells that leave the notebook's random numbers alone (docs/conventions.md)."""
from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Pointers a student who clones the repository cannot follow. Built from parts so that this file
# does not match itself.
FOREIGN = re.compile("|".join([
    "seeds" + "/", r"\.\./" + "shared", "shared" + r"/(design|data|seeds|COURSE|CITATIONS|STYLE|hooks)",
    r"\b[Ii]ssue" + r"s? #?\d+", "issue" + " tracker", "COURSE" + "_GUIDE",
]))
SCANNED = ["notebooks", "labutils", "tests", "benchmarks", "docs", "scripts", "README.md", "Makefile",
           "data/README.md", "pyproject.toml", "environment.yml"]


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", *SCANNED],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        return [ROOT / f for f in out if (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: scan the folders
        return [p for s in SCANNED for p in ([ROOT / s] if (ROOT / s).is_file() else (ROOT / s).rglob("*"))
                if p.is_file() and ".venv" not in p.parts]


def test_the_repository_refers_only_to_itself():
    found = []
    for path in tracked_files():
        if path.suffix not in {".py", ".ipynb", ".md", ".txt", ".yml", ".toml", ""} and path.name != "Makefile":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if FOREIGN.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not found, ("these lines point outside the repository or at issue numbers; cite the lecture "
                       "material by author and title and describe behaviour instead:\n" + "\n".join(found))


def cells(path):
    return nbformat.read(path, as_version=4).cells


def grade(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_header_and_setup(path):
    nb = cells(path)
    head = nb[0]
    assert head.cell_type == "markdown", "the first cell is the title cell (markdown)"
    number = path.stem[:2]
    assert re.match(rf"# {number} · \S", head.source), f"the title reads '# {number} · Title'"
    for line in ("**Prerequisites:**", "**Runtime:**", "**Student time:**"):
        assert line in head.source, f"the title cell states {line}"
    runtime = head.source.split("**Runtime:**")[1].split("\n")[0]
    assert "FAST" in runtime and "full" in runtime, "the runtime line gives FAST and full mode"
    assert nb[1].cell_type == "code" and "labutils.setup(" in nb[1].source, "the second cell is the setup cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_numbered_sections_and_ending(path):
    nb = cells(path)
    ending = [c.source.split("\n")[0] for c in nb[-3:]]
    assert [c.cell_type for c in nb[-3:]] == ["markdown"] * 3, "Summary, Open questions and References are the last three cells"
    assert ending == ["## Summary", "## Open questions", "## References"], f"the last three cells start {ending}"
    numbers = []
    for cell in nb[:-3]:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("## "):
                match = re.match(r"## (\d+)\. \S", line)
                assert match, f"section heading {line!r} is not '## N. Title'"
                numbers.append(int(match.group(1)))
    assert numbers == list(range(1, len(numbers) + 1)), f"sections are numbered {numbers}"


EXERCISE = re.compile(r"### Exercise (\d+) · `(\w+)` \((\d+) points?\)$")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_headings(path):
    nb = cells(path)
    headed, numbers = [], []
    for i, cell in enumerate(nb):
        if cell.cell_type == "markdown" and "### Exercise" in cell.source:
            first = cell.source.splitlines()[0]
            match = EXERCISE.match(first)
            assert match, f"cell {i}: the exercise heading {first!r} must be the cell's first line, '### Exercise N · `name` (P points)'"
            number, name, points = int(match.group(1)), match.group(2), int(match.group(3))
            numbers.append(number)
            solution = next(c for c in nb[i + 1:] if c.cell_type == "code")
            assert grade(solution).get("grade_id") == name and grade(solution).get("solution"), \
                f"the next code cell after the heading of {name} is its solution cell"
            check = nb[nb.index(solution) + 1]
            assert grade(check).get("grade_id") == f"{name}-check", f"{name}: the check cell follows the solution"
            assert grade(check).get("points") == points, f"{name}: heading says {points} points, check gives {grade(check).get('points')}"
            headed.append(name)
    solutions = [grade(c)["grade_id"] for c in nb if grade(c).get("solution")]
    assert headed == solutions, f"every exercise has one heading, in order: headings {headed}, solutions {solutions}"
    assert numbers == list(range(1, len(numbers) + 1)), f"exercises are numbered {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_what_to_see_is_asserted(path):
    nb = cells(path)
    asserting = re.compile(r"\bassert|check_gradient|run_check")
    for i, cell in enumerate(nb):
        if cell.cell_type == "markdown" and "**What to see.**" in cell.source:
            before = next((c for c in reversed(nb[:i]) if c.cell_type == "code"), None)
            after = next((c for c in nb[i + 1:] if c.cell_type == "code"), None)
            assert any(c is not None and asserting.search(c.source) for c in (before, after)), \
                f"cell {i}: a 'What to see' claim needs an asserting code cell right before or after it"
    assert any("**What to see.**" in c.source for c in nb if c.cell_type == "markdown"), \
        "every notebook says what to see in its experiments"


def assigned_names(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            for sub in ast.walk(target) if target is not None else []:
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_check_cells_leave_the_notebook_rng_alone(path):
    for cell in cells(path):
        if grade(cell).get("grade"):
            assert "rng" not in assigned_names(cell.source), (
                f"{grade(cell)['grade_id']} rebinds the notebook's rng: give the check its own generator "
                "(check_rng = np.random.default_rng(...)) so later experiments do not depend on the checks")
