"""No exercise's answer is given away: the body of every solution appears neither in labutils nor in
what a student receives (every non-solution cell of every notebook, check cells without their hidden
tests). Code is compared after normalising names and formatting: variables and arguments are renamed
by order of first appearance, docstrings and comments dropped, attributes and constants kept."""
from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MIN_NODES = 25  # smaller snippets (a matrix product, a return) are vocabulary, not answers
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)


class _Rename(ast.NodeTransformer):
    def __init__(self):
        self.names: dict[str, str] = {}

    def _canonical(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._canonical(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._canonical(node.arg)
        node.annotation = None
        return node


def _drop_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def normalised(statements: list[ast.stmt]) -> str:
    module = ast.Module(body=[copy.deepcopy(s) for s in statements], type_ignores=[])
    return ast.dump(_Rename().visit(module), annotate_fields=False)


def size(statements) -> int:
    return sum(1 for s in statements for _ in ast.walk(s))


def parse(source: str) -> ast.Module | None:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def statement_lists(tree: ast.AST):
    """Every list of statements in ``tree``: module, function and loop bodies, branches."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield _drop_docstring(block)


def solutions():
    """(notebook, exercise, function name, body statements) for every function a solution cell defines."""
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            tree = parse(cell.source) if meta.get("solution") else None
            for node in ast.walk(tree) if tree else []:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = _drop_docstring(node.body)
                    if size(body) >= MIN_NODES:
                        yield path.stem, meta["grade_id"], node.name, body


def student_visible_sources():
    """(label, source) of labutils modules and of every cell a student version contains."""
    for path in sorted((ROOT / "labutils").rglob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution"):
                yield f"{path.name} cell {index}", HIDDEN.sub("", cell.source)


def runs(body: list[ast.stmt]):
    """Every run of consecutive statements of ``body`` big enough to be an answer: the whole body, or
    at least three statements and half of it. Yields (statement kinds, normalised dump)."""
    shortest = min(len(body), max(3, (len(body) + 1) // 2))
    for length in range(shortest, len(body) + 1):
        for start in range(len(body) - length + 1):
            part = body[start:start + length]
            if size(part) >= MIN_NODES:
                yield kinds(part), normalised(part)


def kinds(statements) -> tuple[str, ...]:
    return tuple(type(s).__name__ for s in statements)


def windows(trees, shapes: set[tuple[str, ...]]) -> dict[str, str]:
    """Normalised dumps of the runs of consecutive statements in ``trees`` whose statement kinds match
    one of ``shapes`` (a cheap filter before normalising) → where each run is."""
    lengths = {len(shape) for shape in shapes}
    found: dict[str, str] = {}
    for label, tree in trees:
        for block in statement_lists(tree):
            for length in lengths:
                for start in range(len(block) - length + 1):
                    part = block[start:start + length]
                    if kinds(part) in shapes:
                        found.setdefault(normalised(part), label)
    return found


SOLUTIONS = list(solutions())


@pytest.fixture(scope="module")
def visible():
    shapes = {shape for *_, body in SOLUTIONS for shape, _ in runs(body)}
    trees = ((label, tree) for label, source in student_visible_sources() if (tree := parse(source)))
    return windows(trees, shapes)


def test_there_are_solutions_to_protect():
    assert len(SOLUTIONS) >= 15


ANSWER = """
def f(a, b):
    s = a @ b.T
    s = s - s.max(1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(1)
"""
COPY = (
    "def g(x, w):\n"
    "    '''Renamed and reformatted, with a docstring and a comment.'''\n"
    "    out = x @ w.T  # scores\n"
    "    out = out - out.max(1, keepdims=True)\n"
    "    ex = np.exp(out)\n"
    "    return ex / ex.sum(1)\n"
)


def test_normalising_sees_through_names_and_formatting():
    answer, copied = parse(ANSWER).body[0], parse(COPY).body[0]
    different = parse(ANSWER.replace("b.T", "b")).body[0]
    assert normalised(answer.body) == normalised(_drop_docstring(copied.body))
    assert normalised(answer.body) != normalised(different.body)


@pytest.mark.parametrize("notebook, exercise, function, body", SOLUTIONS,
                         ids=[f"{s[0][:2]}-{s[1]}-{s[2]}" for s in SOLUTIONS])
def test_solution_is_not_given_away(visible, notebook, exercise, function, body):
    leaked = [(len(shape), visible[dump]) for shape, dump in runs(body) if dump in visible]
    if leaked:
        length, where = max(leaked)
        raise AssertionError(
            f"{length} consecutive statement(s) of {function} (exercise {exercise} of {notebook}) appear in "
            f"{where}: a student would be handed the answer. Use PyTorch's version there, or teach the idea "
            "where it is an exercise.")
