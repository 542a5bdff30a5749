"""`make run`: execute every notebook headless (full mode unless LABUTILS_FAST is set), save the
executed copies to build/executed/, render HTML to build/html/, and print a table of wall times and
the figures each notebook recorded with ``labutils.record``. Results go to build/results.json.

Usage: python scripts/run_notebooks.py [NOTEBOOK ...]   (default: all of notebooks/*.ipynb)
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from labutils.config import build_dir, fast_mode, repo_root

BUILD = build_dir()


def run_one(path: Path, timeout: int) -> dict:
    results_file = BUILD / "results" / f"{path.stem}.json"
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.unlink(missing_ok=True)
    os.environ["LABUTILS_RESULTS"] = str(results_file)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    error = ""
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as exc:  # keep going: one broken notebook must not hide the others
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    seconds = time.perf_counter() - start
    for folder in ("executed", "html"):
        (BUILD / folder).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, BUILD / "executed" / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (BUILD / "html" / f"{path.stem}.html").write_text(html, encoding="utf-8")
    figures = json.loads(results_file.read_text()) if results_file.exists() else {}
    return {"notebook": path.name, "seconds": round(seconds, 1), "error": error, "results": figures}


def main(argv: list[str]) -> int:
    fast = fast_mode()
    paths = [Path(a) for a in argv] or sorted((repo_root() / "notebooks").glob("[0-9]*.ipynb"))
    rows = [run_one(p, timeout=1800) for p in paths]
    mode = "FAST" if fast else "full"
    (BUILD / "results.json").write_text(json.dumps({"mode": mode, "notebooks": rows}, indent=2))
    print(f"\n{'notebook':<36} {'wall time':>10}  key figures ({mode} mode)")
    for r in rows:
        figs = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["results"].items())
        status = f"FAILED {r['error']}" if r["error"] else figs
        print(f"{r['notebook']:<36} {r['seconds']:>9.1f}s  {status}")
    print(f"\nexecuted notebooks: {BUILD / 'executed'}; HTML: {BUILD / 'html'}; figures: {BUILD / 'results.json'}")
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
