"""A tiny notebook in the course's exercise format, and submissions made from it, for the tests of
the instructor and student tools (grading, workbook, check, sandbox).

Two exercises: ``square`` (2 points; its check has a hidden test) and ``cube`` (3 points; its check
warns on stderr and ends with ``assert_close``, which returns a number).
"""
from __future__ import annotations

import copy

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
TIMEOUT = 30  # s per cell: enough for `import torch` on a busy 2-core machine

SQUARE = 'def square(x):\n    """x squared, elementwise."""\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION'
CUBE = "def cube(x):\n    ### BEGIN SOLUTION\n    return x ** 3\n    ### END SOLUTION"


def meta(grade_id, points=None):
    """nbgrader metadata: a solution cell, or a check cell worth ``points``."""
    if points is None:
        return {"nbgrader": {"grade_id": grade_id, "solution": True, "grade": False, "locked": False,
                             "schema_version": 3}}
    return {"nbgrader": {"grade_id": grade_id, "solution": False, "grade": True, "locked": True,
                         "points": points, "schema_version": 3}}


def fixture_notebook():
    """The solution notebook."""
    nb = new_notebook(metadata={"kernelspec": dict(KERNELSPEC)})
    nb.cells = [
        new_markdown_cell("# Fixture\nTwo small exercises."),
        new_code_cell('import numpy as np\nimport labutils\nprint("FAST mode:", labutils.FAST)'),
        new_code_cell(SQUARE, metadata=meta("square")),
        new_code_cell('from labutils.checks import assert_close\nimport numpy as np\n'
                      'assert_close("square", square(np.arange(3.0)), np.array([0.0, 1.0, 4.0]))\n'
                      '### BEGIN HIDDEN TESTS\nassert square(-3.0) == 9.0, "square(-3) should be 9"\n'
                      '### END HIDDEN TESTS', metadata=meta("square-check", 2)),
        new_code_cell(CUBE, metadata=meta("cube")),
        new_code_cell('import warnings\nfrom labutils.checks import assert_close\n'
                      'warnings.warn("a harmless warning on stderr")\n'
                      'assert_close("cube", cube(2.0), 8.0)', metadata=meta("cube-check", 3)),
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


def prepend_to_first_exercise(nb, code: str):
    """A copy of ``nb`` whose first exercise cell starts with ``code`` (its stub stays)."""
    nb = copy.deepcopy(nb)
    cell = cell_by_id(nb, "square")
    cell.source = code + "\n" + cell.source
    return nb
