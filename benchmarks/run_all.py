"""`make bench`: run every benchmarks/bench_*.py, collect what each saves, write build/bench.json
and build/bench.md.

Each benchmark script is standalone (``python benchmarks/bench_x.py`` works too) and calls
``benchmarks.common.save(name, rows, notes)``, which prints its table and writes
build/bench/<name>.json and .md. Usage: python benchmarks/run_all.py [NAME ...]
"""
from __future__ import annotations

import json
import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchmarks.common import BENCH_DIR, BUILD  # noqa: E402


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.name}")
        start = time.perf_counter()
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (0, None):
                failed.append(script.name)
        except Exception as exc:  # one broken benchmark must not hide the others
            print(f"FAILED: {type(exc).__name__}: {exc}")
            failed.append(script.name)
        print(f"({script.name}: {time.perf_counter() - start:.0f} s)")
    collected = {p.stem: json.loads(p.read_text()) for p in sorted(BENCH_DIR.glob("*.json"))}
    (BUILD / "bench.json").write_text(json.dumps(collected, indent=2))
    md = [p.read_text() for p in sorted(BENCH_DIR.glob("*.md"))]
    (BUILD / "bench.md").write_text("\n\n".join(md))
    print(f"\nwrote {BUILD / 'bench.json'} and {BUILD / 'bench.md'}" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
