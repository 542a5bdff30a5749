"""Seconds to autograde one submission of each notebook in FAST mode (issue 10).

For every notebooks/*.ipynb: grade the solution notebook (a perfect submission) and the blank
student version, each in its own kernel, exactly as ``python -m labutils.instructor grade`` does,
and report the wall time per submission and the scores (the solution must get full marks, the blank
version 0). Usage: python benchmarks/bench_grading.py [NOTEBOOK ...]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["LABUTILS_FAST"] = "1"  # before labutils is imported: the kernels inherit it

import nbformat  # noqa: E402

from benchmarks.common import save  # noqa: E402
from labutils.instructor import grade_notebook, student_version  # noqa: E402
from labutils.instructor.release import source_notebooks  # noqa: E402


def timed_grade(submission, solution, kind: str, path: Path):
    start = time.perf_counter()
    result = grade_notebook(submission, solution, kind, path.name, path.parent)
    return time.perf_counter() - start, result


def main(names: list[str]) -> None:
    rows = []
    for path in source_notebooks(names):
        solution = nbformat.read(path, as_version=4)
        seconds_solution, graded_solution = timed_grade(solution, solution, "solution", path)
        seconds_blank, graded_blank = timed_grade(student_version(solution, path.name), solution, "blank", path)
        rows.append({"notebook": path.name, "checks": len(graded_solution.rows),
                     "max_points": graded_solution.max_points,
                     "solution_points": graded_solution.points, "blank_points": graded_blank.points,
                     "solution_s": round(seconds_solution, 1), "blank_s": round(seconds_blank, 1)})
        print(f"{path.name}: {seconds_solution:.1f} s (solution), {seconds_blank:.1f} s (blank)", flush=True)
    save("grading", rows, notes=(
        "Wall time to grade one submission in FAST mode (restore checks, start a kernel, execute every "
        "cell, score), graded one after another; `solution` is a perfect submission, `blank` the "
        "untouched student version (its cells fail fast). Includes kernel start-up and imports "
        f"(a few seconds). Machine: {os.cpu_count()} CPU cores, shared."))


if __name__ == "__main__":
    main(sys.argv[1:])
