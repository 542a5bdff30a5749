"""labutils.notebook_code: one loader imports a notebook's solution and library cells, and refuses
functions that would read notebook globals it never ran."""
import nbformat
import pytest

from labutils.notebook_code import NotebookCodeError, load_notebook, run_check


def write_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, meta in cells:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.metadata.update(meta)
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


SOLUTION = {"nbgrader": {"grade_id": "double", "solution": True, "grade": False, "locked": False}}
CHECK = {"nbgrader": {"grade_id": "double-check", "grade": True, "locked": True, "points": 1}}
LIBRARY = {"tags": ["library"]}


def test_loads_solution_and_library_cells_only(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        ("code", "SIDE_EFFECT = 1", {}),
        ("code", "def double(x):\n    return 2 * np.asarray(x)", SOLUTION),
        ("code", "assert double(2) == 4", CHECK),
        ("code", "import math\nSCALE = 3\n\nclass Model:\n    def run(self, x):\n        return SCALE * double(x) + math.pi",
         LIBRARY),
    ])
    code = load_notebook(path)
    assert code.Model().run(1) == pytest.approx(6 + 3.141592653589793)
    assert not hasattr(code, "SIDE_EFFECT")
    run_check(path, "double", double=lambda x: 2 * x)
    with pytest.raises(AssertionError):
        run_check(path, "double", double=lambda x: x)


def test_refuses_a_function_that_reads_notebook_globals(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        ("code", "inputs = [1, 2, 3]", {}),
        ("code", "def train():\n    return sum(inputs)", LIBRARY),
    ])
    with pytest.raises(NotebookCodeError, match=r"train reads the notebook global\(s\) inputs"):
        load_notebook(path)


def test_refuses_a_method_that_reads_notebook_globals(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", [
        ("code", "class Model:\n    def device(self):\n        return DEVICE", LIBRARY),
    ])
    with pytest.raises(NotebookCodeError, match="Model.device"):
        load_notebook(path)
