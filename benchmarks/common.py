"""What every benchmark script shares: where results go and how a table is printed and saved."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
BENCH_DIR = BUILD / "bench"


def machine() -> dict:
    import os

    import torch

    return {"cpu_count": os.cpu_count(), "threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "platform": platform.platform(), "date": time.strftime("%Y-%m-%d")}


def save(name: str, rows: list[dict] | pd.DataFrame, notes: str = "") -> pd.DataFrame:
    """Print ``rows`` as a table and write build/bench/<name>.json and <name>.md."""
    table = pd.DataFrame(rows)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    text = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    print(text)
    if notes:
        print(notes)
    (BENCH_DIR / f"{name}.json").write_text(json.dumps(
        {"machine": machine(), "notes": notes, "rows": table.to_dict(orient="records")}, indent=2, default=str))
    body = table.to_markdown(index=False, floatfmt=".4g") if _has_tabulate() else f"```\n{text}\n```"
    (BENCH_DIR / f"{name}.md").write_text(f"### {name}\n\n{body}\n\n{notes}\n")
    return table


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False
