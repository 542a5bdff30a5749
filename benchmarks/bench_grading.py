"""Grading throughput in FAST mode: seconds per submission and submissions per minute for 1, 2, 4 jobs.

For every notebooks/*.ipynb, the solution notebook (a perfect submission) is

1. executed plainly with nbclient (the notebook's own FAST runtime, no grader),
2. graded alone, exactly as ``python -m labutils.instructor grade --fast --jobs 1`` does (restore,
   guard, sandbox when bubblewrap works here, kernel start, score): the overhead is the difference,
3. graded as one batch of all notebooks with 2 and 4 parallel kernels: submissions per minute, and
   the hours a class of 100 students × the notebooks would take on this machine.

The sandbox's own cost per submission is measured on the first notebook (graded with and without).
Usage: python -m benchmarks.bench_grading [NOTEBOOK ...]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from benchmarks.common import save, timed
from labutils.instructor.execute import execute
from labutils.instructor.gradebook import default_jobs, grade_all, grading_environment, load_sources
from labutils.instructor.release import source_notebooks
from labutils.instructor.sandbox import choose_runner

CLASS_SIZE = 100
TIMEOUT = 600


def own_runtime(path: Path) -> None:
    """Execute the notebook as nbval/make run would: no restore, no guard, no sandbox."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   allow_errors=True).execute(stderr=subprocess.DEVNULL)  # no kernel chatter on the console


def grade_batch(paths: list[Path], jobs: int, runner, sources: dict) -> list:
    """Grade the solution notebooks as one batch of submissions (one student per notebook)."""
    found = [(f"student{k}", path) for k, path in enumerate(paths)]
    return grade_all(found, sources, paths[0].parent, TIMEOUT, jobs, grading_environment(jobs, True), runner,
                     log=lambda line: None, progress=False)


def check_full_marks(grades) -> None:
    """A solution scores full marks, and the grader restored and put back nothing."""
    for g in grades:
        assert g.points == g.max_points and not g.notes, \
            f"{g.notebook}: the solution scored {g.points} / {g.max_points}: {g.notes}"


def main(names: list[str]) -> None:
    os.environ["LABUTILS_FAST"] = "1"  # the kernels started below inherit it
    copies = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    for path in source_notebooks(names):  # one snapshot: the notebooks may change while this runs
        shutil.copy2(path, copies / path.name)
    paths = sorted(copies.glob("*.ipynb"))
    sources = load_sources(copies)
    runner, sandbox_line = choose_runner(True)
    rows = []
    for path in paths:
        _, own = timed(own_runtime, path)
        graded, alone = timed(grade_batch, [path], 1, runner, sources)
        check_full_marks(graded)
        rows.append({"notebook": path.name, "own_runtime_s": round(own, 1), "graded_s": round(alone, 1),
                     "overhead_s": round(alone - own, 1)})
        print(f"{path.name}: own {own:.1f} s, graded {alone:.1f} s", flush=True)
    serial = sum(r["graded_s"] for r in rows)
    rows.append({"notebook": "all, 1 job", "graded_s": round(serial, 1),
                 "per_minute": round(60 * len(paths) / serial, 2)})
    for jobs in (2, 4):
        graded, seconds = timed(grade_batch, paths, jobs, runner, sources)
        check_full_marks(graded)
        rows.append({"notebook": f"all, {jobs} jobs", "graded_s": round(seconds, 1),
                     "per_minute": round(60 * len(paths) / seconds, 2)})
        print(f"{jobs} jobs: {seconds:.1f} s for {len(paths)} submissions", flush=True)
    for row in rows[len(paths):]:
        row["class_hours"] = round(CLASS_SIZE * len(paths) / row["per_minute"] / 60, 2)
    first = paths[:1]
    _, plain = timed(grade_batch, first, 1, execute, sources)
    sandboxed = rows[0]["graded_s"]
    rows.append({"notebook": f"{first[0].name} without sandbox", "graded_s": round(plain, 1),
                 "overhead_s": round(sandboxed - plain, 1)})
    shutil.rmtree(copies, ignore_errors=True)
    save("grading", rows, notes=(
        f"FAST mode, solution notebooks as submissions. own_runtime_s: plain nbclient execution; graded_s: "
        f"restore + guard + kernel start + execution + scoring ({sandbox_line}); overhead_s: graded minus own "
        f"(last row: the sandbox's own cost, with minus without). per_minute: submissions per minute; "
        f"class_hours: hours for {CLASS_SIZE} students x {len(paths)} notebooks at that rate. "
        f"{default_jobs()} CPU cores; LABUTILS_THREADS = cores / jobs unless set. Timings on a shared machine "
        "vary with its load."))


if __name__ == "__main__":
    main(sys.argv[1:])
