"""`make bench`: run every ``benchmarks/bench_*.py`` as a module, then collect what each saved into
``build/bench.json`` and ``build/bench.md``.

Usage (from the repository root): ``python -m benchmarks.run_all [NAME ...]`` — names select
benchmarks by substring (``python -m benchmarks.run_all seizure``).
"""
from __future__ import annotations

import json
import runpy
import sys
import time
from pathlib import Path

from benchmarks.common import bench_dir
from labutils.config import build_dir

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    modules = [p.stem for p in sorted(HERE.glob("bench_*.py"))]
    if names:
        modules = [m for m in modules if any(n in m for n in names)]
    failed = []
    for module in modules:
        print(f"\n=== {module}", flush=True)
        start = time.perf_counter()
        try:
            runpy.run_module(f"benchmarks.{module}", run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (0, None):
                failed.append(module)
        except Exception as exc:  # one broken benchmark must not hide the others
            print(f"FAILED: {type(exc).__name__}: {exc}")
            failed.append(module)
        print(f"({module}: {time.perf_counter() - start:.0f} s)")
    folder = bench_dir()
    collected = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    (build_dir() / "bench.json").write_text(json.dumps(collected, indent=2))
    (build_dir() / "bench.md").write_text("\n\n".join(p.read_text() for p in sorted(folder.glob("*.md"))))
    print(f"\nwrote {build_dir() / 'bench.json'} and {build_dir() / 'bench.md'}" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
