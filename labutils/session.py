"""The one call at the top of every notebook: ``info = labutils.setup(seed=…)``.

It composes the single-purpose settings of ``labutils.config`` (seed, threads, device), applies the
course's figure style and prints one summary line with the versions, so that an executed notebook
records what it ran on.
"""
from __future__ import annotations

import platform
import sys

from .config import FAST, device, seed_everything, set_threads


def versions() -> dict[str, str]:
    """Versions of Python and the main libraries, for the setup cell's printout."""
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for name in ("numpy", "pandas", "torch", "scikit-learn", "matplotlib"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return found


def setup(seed: int = 0, threads: int | None = None, torch_needed: bool = True) -> dict:
    """One call at the top of every notebook: seed, threads, device, plot style; prints a summary.

    Returns a dict with ``fast``, ``seed``, ``device`` and ``threads``.
    """
    seed_everything(seed)
    info = {"fast": FAST, "seed": seed, "device": None, "threads": None}
    if torch_needed:
        info["threads"] = set_threads(threads)
        info["device"] = device()
    from .plots import use_course_style

    use_course_style()
    mode = "FAST (small data, few epochs)" if FAST else "full"
    libs = ", ".join(f"{k} {v}" for k, v in versions().items())
    print(f"mode: {mode} | seed {seed} | device {info['device']} | threads {info['threads']}")
    print(f"versions: {libs} | {sys.platform}")
    return info
