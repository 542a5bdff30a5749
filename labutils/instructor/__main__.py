"""Command line: ``python -m labutils.instructor COMMAND``.

Students:
    workbook [NOTEBOOK...]  your own copy of the exercises in workbook/ (an edited copy is never
                            overwritten; a newer release goes beside it)
    check [NOTEBOOK...]     run the workbook headless (FAST mode): passed / failed / not attempted
Instructors:
    release [NOTEBOOK...]   student versions → build/student/ (default: every notebooks/*.ipynb)
    list [NOTEBOOK...]      every exercise (notebook, grade id, points) → build/exercises.md
    grade SUBMISSIONS...    files or folders (submissions/<student>/<notebook>.ipynb) →
                            build/grades/gradebook.csv, feedback/<student>.md, executed/
    course DIR [NOTEBOOK...] an nbgrader course directory (source/<assignment>/ + nbgrader_config.py)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .execute import DEFAULT_TIMEOUT


def _speed(p) -> None:
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--fast", dest="fast", action="store_const", const=True,
                       help="run the notebooks in FAST mode (LABUTILS_FAST=1)")
    speed.add_argument("--full", dest="fast", action="store_const", const=False,
                       help="run in full mode even if LABUTILS_FAST is set")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m labutils.instructor", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True)

    p = commands.add_parser("workbook", help="your copy of the exercises in workbook/")
    p.add_argument("notebooks", nargs="*", help="paths or names such as 01_bptt (default: all)")
    p.add_argument("--out", type=Path, help="folder (default workbook/)")

    p = commands.add_parser("check", help="run your workbook and report every exercise")
    p.add_argument("notebooks", nargs="*", help="names such as 01_bptt (default: all in the workbook)")
    p.add_argument("--workbook", type=Path, help="folder (default workbook/)")
    p.add_argument("--jobs", type=int, default=0, help="notebooks run at once (default: one per core)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per cell")
    _speed(p)
    p.set_defaults(fast=True)

    p = commands.add_parser("release", help="student versions of the notebooks")
    p.add_argument("notebooks", nargs="*", help="paths or names such as 01_bptt (default: all)")
    p.add_argument("--out", type=Path, help="output folder (default build/student)")

    p = commands.add_parser("list", help="the list of exercises, grade ids and points")
    p.add_argument("notebooks", nargs="*", help="paths or names (default: all)")
    p.add_argument("--out", type=Path, help="Markdown file (default build/exercises.md)")

    p = commands.add_parser("grade", help="autograde submissions into a CSV gradebook and feedback")
    p.add_argument("submissions", nargs="+", help="notebook files or folders of <student>/<notebook>.ipynb")
    p.add_argument("--source", type=Path, help="folder of solution notebooks (default notebooks/)")
    p.add_argument("--out", type=Path, help="output folder (default build/grades)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                   help=f"seconds per cell before it is interrupted and scores 0 (default {DEFAULT_TIMEOUT})")
    p.add_argument("--jobs", type=int, default=0, help="submissions graded at once (default: one per core)")
    p.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                   help="grade without the bubblewrap sandbox (student code then sees your files)")
    _speed(p)

    p = commands.add_parser("course", help="an nbgrader course directory with the notebooks as one assignment")
    p.add_argument("root", type=Path, help="the course directory (created if missing)")
    p.add_argument("notebooks", nargs="*", help="paths or names (default: all)")
    p.add_argument("--assignment", default="lab", help="assignment name (default: lab)")
    return main


def grade(args) -> None:
    from .gradebook import default_jobs, grade_submissions, summary_table
    from .sandbox import choose_runner

    runner, line = choose_runner(args.sandbox)
    print(line)
    jobs = args.jobs or default_jobs()
    start = time.perf_counter()
    book = grade_submissions(args.submissions, args.source, args.out, args.timeout, jobs=jobs, fast=args.fast,
                             runner=runner)
    seconds = time.perf_counter() - start
    count = book.groupby(["student", "notebook"]).ngroups
    took = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    out = args.out or Path("build/grades")
    print(f"\n{summary_table(book)}\n\ngraded {count} submissions in {took} ({60 * count / seconds:.1f} per "
          f"minute) with {jobs} parallel kernel(s); wrote {out / 'gradebook.csv'}, {out / 'feedback'}/ and "
          f"{out / 'executed'}/")


def run(args) -> int:
    if args.command == "release":
        from .release import release
        for path in release(args.notebooks, args.out):
            print(f"wrote {path}")
    elif args.command == "workbook":
        from .workbook import make_workbook
        for message in make_workbook(args.notebooks, args.out):
            print(message)
    elif args.command == "check":
        from .workbook import check_workbook
        statuses = check_workbook(args.workbook, args.notebooks, args.jobs, args.fast, args.timeout)
        done = sum(s.status == "passed" for s in statuses)
        print(f"\n{done} of {len(statuses)} exercises passed.")
        if any(s.status not in ("passed", "not attempted") for s in statuses):
            print("A failed check names the quantity, the worst entry and a hint: fix the exercise cell in "
                  "workbook/, run it and its check again.")
    elif args.command == "course":
        from .course import make_course
        folder = make_course(args.root, args.notebooks, args.assignment)
        print(f"wrote {folder} and {args.root / 'nbgrader_config.py'}; next, in {args.root}: "
              f"nbgrader generate_assignment {args.assignment}")
    elif args.command == "list":
        from .listing import write_listing
        print(f"wrote {write_listing(args.notebooks, args.out)}")
    else:
        grade(args)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
