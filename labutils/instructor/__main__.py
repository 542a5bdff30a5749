"""Command line: ``python -m labutils.instructor {release,list,grade,course}``.

    release [NOTEBOOK...]   student versions → build/student/ (default: every notebooks/*.ipynb)
    list [NOTEBOOK...]      every exercise (notebook, grade id, points) → build/exercises.md
    grade SUBMISSIONS...    files or folders (submissions/<student>/<notebook>.ipynb) →
                            build/grades/gradebook.csv, feedback/<student>.md, executed/
    course DIR [NOTEBOOK...] an nbgrader course directory (source/<assignment>/ + nbgrader_config.py)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .course import make_course
from .grade import DEFAULT_TIMEOUT, grade_submissions, set_fast
from .listing import write_listing
from .release import release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labutils.instructor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

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
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--fast", dest="fast", action="store_const", const=True,
                       help="run the notebooks in FAST mode (LABUTILS_FAST=1)")
    speed.add_argument("--full", dest="fast", action="store_const", const=False,
                       help="run in full mode even if LABUTILS_FAST is set")

    p = commands.add_parser("course", help="an nbgrader course directory with the notebooks as one assignment")
    p.add_argument("root", type=Path, help="the course directory (created if missing)")
    p.add_argument("notebooks", nargs="*", help="paths or names (default: all)")
    p.add_argument("--assignment", default="lab", help="assignment name (default: lab)")

    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            for path in release(args.notebooks, args.out):
                print(f"wrote {path}")
        elif args.command == "course":
            folder = make_course(args.root, args.notebooks, args.assignment)
            print(f"wrote {folder} and {args.root / 'nbgrader_config.py'}; next, in {args.root}: "
                  f"nbgrader generate_assignment {args.assignment}")
        elif args.command == "list":
            print(f"wrote {write_listing(args.notebooks, args.out)}")
        else:
            set_fast(args.fast)
            book = grade_submissions(args.submissions, args.source, args.out, args.timeout)
            out = args.out or Path("build/grades")
            totals = book.groupby(["student", "notebook"])[["points", "max_points"]].sum()
            print(f"\n{totals.to_string()}\n\nwrote {out / 'gradebook.csv'} and {out / 'feedback'}/")
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
