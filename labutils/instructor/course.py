"""A full nbgrader course directory made from the course notebooks, for instructors who want
nbgrader's own workflow (``generate_assignment``, ``collect``, ``autograde``, formgrader, feedback).

    python -m labutils.instructor course ~/rnn-course --assignment lab01 01_bptt

writes ``~/rnn-course/source/lab01/01_bptt.ipynb`` and an ``nbgrader_config.py`` that grades the
way ``python -m labutils.instructor grade`` does: stderr output (warnings) is dropped before
scoring, through nbgrader's own ``IgnorePattern`` preprocessor; the kernel displays no expression
values (nbgrader would read a check's returned error as partial credit); cells get minutes; the
student version's stubs say what to do, as ``release`` writes them.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .execute import DEFAULT_TIMEOUT, IOPUB_TIMEOUT, KERNEL_ARGS
from .score import IGNORED_STDERR
from .release import source_notebooks

CONFIG = f'''# nbgrader configuration written by `python -m labutils.instructor course` (see docs/instructor.md).
from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
                                    ComputeChecksums, IncludeHeaderFooter, InstantiateTests, LockCells,
                                    SaveCells)
from labutils.instructor.release import ClearSolutionsWithHints

c = get_config()
c.CourseDirectory.course_id = "rnns-for-healthcare"
# nbgrader's own pipeline, except that an unsolved exercise says what to do ("Exercise 2: write
# `rnn_step_backward` in this cell ...") instead of a bare NotImplementedError.
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutionsWithHints, ClearOutput,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme, ComputeChecksums,
    CheckCellMetadata]
# Training cells take minutes in full mode: the default of 30 s per cell is far too short.
c.Execute.timeout = {DEFAULT_TIMEOUT}
# nbgrader gives 0 to a check cell that wrote anything to stderr; a harmless UserWarning must not
# cost points, so all stderr output of a cell is dropped before it is scored.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = {IGNORED_STDERR!r}
# Check cells may end with a call that returns a number (assert_close returns its max error);
# nbgrader would read that displayed number as partial credit, so the kernel displays no values.
c.Execute.extra_arguments = {KERNEL_ARGS!r}
# On a busy machine a cell's last outputs can arrive more than nbgrader's 4 s after its reply.
c.Execute.iopub_timeout = {IOPUB_TIMEOUT}
c.Execute.raise_on_iopub_timeout = False
'''


def make_course(root: Path, notebooks: list[str] | None = None, assignment: str = "lab") -> Path:
    """Create (or update) an nbgrader course directory at ``root`` with one assignment.

    Copies the solution notebooks to ``root/source/<assignment>/`` and writes
    ``root/nbgrader_config.py`` unless one exists. Returns the assignment's source folder.
    """
    root = Path(root).expanduser()
    target = root / "source" / assignment
    target.mkdir(parents=True, exist_ok=True)
    for path in source_notebooks(notebooks):
        shutil.copy2(path, target / path.name)
    config = root / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
    return target
