"""Install PyTorch into the running Python before the rest of the course (the make targets call this).

Why: on Linux, PyPI's default ``torch`` wheel is a CUDA build that pulls NVIDIA libraries of several
GB. The course runs on a CPU, so on Linux without an NVIDIA GPU this takes PyTorch's own CPU-only
build (about 200 MB) from PyTorch's CPU wheel index. macOS and Windows wheels on PyPI are CPU builds
already and come from PyPI. A Linux machine with ``nvidia-smi`` gets the default (CUDA) build.

Overrides (environment variables, or ``make lab TORCH_INDEX=...``):
    TORCH_INDEX=URL   install from this index instead (e.g. a CUDA index from pytorch.org)
    TORCH_INDEX=      (set but empty) plain PyPI: the default CUDA build on Linux
    TORCH_SPEC=...    what to install, e.g. ``torch==2.13.0`` (default: the range pyproject.toml asks for)

If PyTorch is already installed and no TORCH_SPEC is given, nothing is done. If the CPU index cannot
be reached, the default build is installed from PyPI instead, with one line saying so.

Usage: python scripts/install_torch.py [--dry-run] [--platform linux|darwin|win32] [--gpu yes|no]
(``--platform``/``--gpu`` pretend to be another machine; they only make sense with ``--dry-run``.)
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import urllib.request

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
DEFAULT_SPEC = "torch>=2.1"  # the range of pyproject.toml (tests/test_install_torch.py keeps them in step)


def choose_index(platform: str, has_nvidia_gpu: bool, env: dict) -> str | None:
    """The index URL to install PyTorch from, or None for plain PyPI."""
    if "TORCH_INDEX" in env:  # an explicit choice, even an empty one, wins
        return env["TORCH_INDEX"].strip() or None
    if platform.startswith("linux") and not has_nvidia_gpu:
        return CPU_INDEX
    return None


def pip_command(python: str, spec: str, index: str | None) -> list[str]:
    """The pip command line that installs ``spec`` (from ``index`` when given)."""
    command = [python, "-m", "pip", "install", "--progress-bar", "off", spec]
    return command + (["--index-url", index] if index else [])


def plan(platform: str, has_nvidia_gpu: bool, env: dict, installed: str | None,
         python: str = sys.executable) -> list[str] | None:
    """The install command for this machine, or None when PyTorch is there and nothing was asked."""
    spec = env.get("TORCH_SPEC", "").strip()
    if installed and not spec:
        return None
    return pip_command(python, spec or DEFAULT_SPEC, choose_index(platform, has_nvidia_gpu, env))


def reachable(url: str, timeout: float = 10.0) -> str | None:
    """None if ``url`` answers, else the reason it does not (a short text)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/", timeout=timeout):
            return None
    except Exception as exc:  # noqa: BLE001 - DNS failure, proxy, timeout, HTTP error: all mean "no"
        return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"


def installed_torch() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="print the command, install nothing, no network")
    parser.add_argument("--platform", default=sys.platform, help="pretend to be this platform (with --dry-run)")
    parser.add_argument("--gpu", choices=["yes", "no"], help="pretend nvidia-smi is (not) there (with --dry-run)")
    args = parser.parse_args(argv)
    has_gpu = args.gpu == "yes" if args.gpu else shutil.which("nvidia-smi") is not None
    installed = installed_torch()
    command = plan(args.platform, has_gpu, dict(os.environ), installed)
    if command is None:
        print(f"PyTorch {installed} is already installed (set TORCH_SPEC to install another version).")
        return 0
    if args.dry_run:
        print(" ".join(command))
        return 0
    index = command[-1] if "--index-url" in command else None
    if index:
        problem = reachable(index) if index.startswith(("http://", "https://")) else None
        if problem is None:
            print(f"Installing PyTorch from {index} (CPU build, about 200 MB; "
                  "TORCH_INDEX= installs PyPI's default build instead).", flush=True)
            if subprocess.call(command) == 0:
                return 0
            problem = "pip could not install from it"
        command = command[:-2]
        print(f"PyTorch's index {index} cannot be used ({problem}); installing the default build from "
              "PyPI instead (on Linux it includes NVIDIA CUDA libraries: several GB).", flush=True)
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
