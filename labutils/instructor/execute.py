"""Execute: run a restored submission in a fresh kernel with a per-cell time limit.

Built on nbgrader's ``Execute`` preprocessor (nbclient underneath). A cell that runs longer than the
limit is interrupted and records a ``CellTimeoutError``; the following cells still run. A kernel
that dies (``os._exit``, a segfault, out of memory) ends the run: the caller scores the notebook 0.
The kernel's own console output (its stdout/stderr, not the cells' outputs) goes to a log file
instead of the grader's console; client-side transport warnings are silenced.

With a guard plan (``guard_plan(source)``), silent requests that the notebook does not show run
``labutils.instructor.guard`` in the kernel: a snapshot before the first cell, ``protect`` after
each read-only cell, ``restore`` before each check cell (see that module).
"""
from __future__ import annotations

import ast
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import ClearOutput, Execute
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Any, Dict, Integer, List

DEFAULT_TIMEOUT = 300  # seconds per cell: full-mode training cells take a few minutes on 2 cores
# Check cells often end with a call that returns a number (``assert_close`` returns its max error).
# nbgrader would read that displayed number as partial credit (4e-16 of 2 points), so the grading
# kernel displays no expression values. Checks in this course pass or raise, never score partially.
KERNEL_ARGS = ["--InteractiveShell.ast_node_interactivity=none"]
# After a cell's reply, nbclient waits this long for its last outputs. nbgrader's Execute makes a
# late output fatal after 4 s, which a busy machine reaches: wait longer, then carry on.
IOPUB_TIMEOUT = 30

_QUIET = logging.getLogger("labutils.instructor.kernel")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


GUARD = "__import__('labutils.instructor.guard', fromlist=['guard'])"


# CPython 3.11's ast.parse is not safe in several threads at once ("AST constructor recursion depth
# mismatch"), and parallel grading runs one thread per kernel.
_PARSING = threading.Lock()


def _code(source: str):
    """The AST of a cell, IPython magics and shell lines dropped; None if it does not parse."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        with _PARSING:
            return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


# Packages whose code checks rely on (comparisons, references). Others, such as matplotlib, rebind
# their own functions at run time (a backend switch) and are left alone.
GUARDED_PACKAGES = {"labutils", "numpy", "torch", "math", "scipy", "sklearn", "pandas"}


def guard_plan(source_nb) -> dict:
    """What the instructor's cells import from the guarded packages: modules to guard, and the
    names their imports bind (``np`` → ``numpy``, ``assert_close`` → ``labutils.checks.assert_close``)."""
    modules, bindings = {"labutils.checks", "numpy"}, {}
    for cell in source_nb.cells:
        tree = _code(cell.source) if cell.cell_type == "code" and not is_solution(cell) else None
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    modules.add(alias.name)
                    top = alias.name.split(".")[0]
                    bindings[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
                for alias in node.names:
                    if alias.name != "*":
                        bindings[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    guarded = lambda name: name.split(".")[0] in GUARDED_PACKAGES  # noqa: E731
    return {"modules": sorted(filter(guarded, modules)),
            "bindings": {alias: target for alias, target in bindings.items() if guarded(target)}}


def bound_names(source: str) -> list[str]:
    """The names a cell binds at top level (assignments, def, class, import)."""
    tree = _code(source)
    names = set()
    for node in tree.body if tree else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return sorted(names)


class _Execute(Execute):
    """nbgrader's Execute that remembers the running cell (to locate a crash), starts the kernel
    with the given environment and kernel manager, sends the kernel's console output to a file, and
    runs the guard's silent requests around the cells."""

    running = Integer(-1)
    kernel_env = Dict(allow_none=True, default_value=None)
    kernel_log = Any(None)  # an open file for the kernel process's stdout and stderr
    guard = Dict(allow_none=True, default_value=None)  # guard_plan(source), or None: no guard
    restored = List()  # what the guard had to put back, over the whole run

    def preprocess_cell(self, cell, resources, index):
        self.running = index
        return super().preprocess_cell(cell, resources, index)

    async def _silent(self, call: str) -> object:
        """Run ``call`` in the kernel without a trace in the notebook; return its value (JSON)."""
        msg_id = self.kc.execute(f"__grader_result__ = {call}", silent=True, store_history=False,
                                 user_expressions={"r": "__import__('json').dumps(__grader_result__)"})
        reply = await self.async_wait_for_reply(msg_id)
        found = (reply or {}).get("content", {}).get("user_expressions", {}).get("r", {})
        text = found.get("data", {}).get("text/plain") if found.get("status") == "ok" else None
        if not text:
            return None
        with _PARSING:
            return json.loads(ast.literal_eval(text))

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.guard is None or cell.cell_type != "code":
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self.code_cells_executed == 0:
            plan = json.dumps(self.guard)
            await self._silent(f"{GUARD}.snapshot(**__import__('json').loads({plan!r}))")
        if is_grade(cell) and not is_solution(cell):
            changed = await self._silent(f"{GUARD}.restore()")
            if changed is None:
                changed = ["the grader's guard itself (it did not answer)"]
            self.restored += [c for c in changed if c not in self.restored]
        result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if is_locked(cell) and not is_grade(cell):
            await self._silent(f"{GUARD}.protect({bound_names(cell.source)!r})")
        return result

    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_env is not None:
            kwargs.setdefault("env", self.kernel_env)
        if self.kernel_log is not None:
            kwargs.setdefault("stdout", self.kernel_log)
            kwargs.setdefault("stderr", self.kernel_log)
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds its blocking wrappers to its own coroutines: bind them to ours
    start_new_kernel = run_sync(async_start_new_kernel)
    execute_cell = run_sync(async_execute_cell)


def _first_line(nb, index: int) -> str:
    if 0 <= index < len(nb.cells):
        lines = [ln for ln in nb.cells[index].source.splitlines() if ln.strip()]
        return f"`{lines[0].strip()[:60]}`" if lines else "an empty cell"
    return "no cell"


def _tail(log, lines: int = 3) -> str:
    log.flush()
    log.seek(0)
    text = [ln.strip() for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
    return ("; kernel said: " + " | ".join(text[-lines:])) if text else ""


def execute(nb, cwd: Path, timeout: int = DEFAULT_TIMEOUT, env: dict | None = None, guard: dict | None = None,
            kernel_manager_class=None) -> tuple[str | None, list[str]]:
    """Run ``nb`` in place in a fresh kernel started in ``cwd``.

    Returns (None or why the run stopped, what the guard had to put back). ``env`` is the kernel's
    environment (default: the grader's); ``guard`` a ``guard_plan`` (None: no guard);
    ``kernel_manager_class`` lets the sandbox start the kernel its own way.
    """
    nb, _ = ClearOutput().preprocess(nb, {})
    options = {"kernel_manager_class": kernel_manager_class} if kernel_manager_class else {}
    runner = _Execute(timeout=timeout, kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
                      extra_arguments=list(KERNEL_ARGS), iopub_timeout=IOPUB_TIMEOUT,
                      raise_on_iopub_timeout=False, log=_QUIET, **options)
    runner.error_on_timeout = {
        "ename": "CellTimeoutError",
        "evalue": f"no result after {timeout} s (the per-cell time limit); the cell was interrupted. "
                  "An endless loop? A much slower method than intended?",
        "traceback": [f"CellTimeoutError: cell interrupted after {timeout} s"],
    }
    runner.kernel_env = dict(env) if env is not None else None
    runner.guard = guard
    with tempfile.TemporaryFile() as log:
        runner.kernel_log = log
        try:
            runner.preprocess(nb, {"metadata": {"path": str(cwd)}})
        except DeadKernelError:
            return (f"the kernel died while running cell {runner.running} "
                    f"({_first_line(nb, runner.running)}){_tail(log)}"), runner.restored
        except Exception as exc:  # noqa: BLE001 - kernel failed to start, lost connection, ...
            return (f"the run stopped at cell {runner.running}: {type(exc).__name__}: {exc}{_tail(log)}",
                    runner.restored)
    return None, runner.restored


def kernel_environment(fast: bool | None = None, extra: dict | None = None) -> dict:
    """The grader's environment with ``LABUTILS_FAST`` set for ``fast`` (None: inherited)."""
    env = dict(os.environ)
    if fast is not None:
        env["LABUTILS_FAST"] = "1" if fast else "0"
    env.update(extra or {})
    return env
