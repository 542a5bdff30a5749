"""What every benchmark shares: timing, the machine description, and where figures are saved.

Run a benchmark from the repository root as a module (``python -m benchmarks.bench_seizure``) or all
of them with ``make bench``. Benchmarks measure full-mode settings unless they say otherwise; the
build directory comes from ``labutils.config.build_dir`` (``LABUTILS_BUILD``).
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from labutils.config import build_dir


def bench_dir() -> Path:
    path = build_dir() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def timed(fn: Callable, *args, repeat: int = 1, **kwargs):
    """Call ``fn(*args, **kwargs)`` ``repeat`` times; return ``(last result, median wall seconds)``."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds.append(time.perf_counter() - start)
    return result, sorted(seconds)[len(seconds) // 2]


def machine() -> dict:
    import torch

    return {"cpu_count": os.cpu_count(), "threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "platform": platform.platform(), "date": time.strftime("%Y-%m-%d")}


def mean_spread(values) -> str:
    """``"0.781 ± 0.012"``: mean and standard deviation over seeds."""
    series = pd.Series(list(values), dtype=float)
    return f"{series.mean():.3f} ± {series.std(ddof=1) if len(series) > 1 else 0.0:.3f}"


def save(name: str, rows: list[dict] | pd.DataFrame, notes: str = "") -> pd.DataFrame:
    """Print ``rows`` as a table and write ``build/bench/<name>.json`` and ``<name>.md``."""
    table = pd.DataFrame(rows)
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    print(text)
    if notes:
        print(notes)
    folder = bench_dir()
    (folder / f"{name}.json").write_text(json.dumps(
        {"machine": machine(), "notes": notes, "rows": table.to_dict(orient="records")}, indent=2, default=str))
    (folder / f"{name}.md").write_text(f"### {name}\n\n```\n{text}\n```\n\n{notes}\n")
    return table
