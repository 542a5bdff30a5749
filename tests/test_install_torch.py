"""The PyTorch install step of the make targets (scripts/install_torch.py), without the network.

Linux without an NVIDIA GPU gets PyTorch's CPU-only build from its CPU wheel index; Linux with
``nvidia-smi``, macOS and Windows get PyPI's default; ``TORCH_INDEX``/``TORCH_SPEC`` override.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install_torch.py"
spec = importlib.util.spec_from_file_location("install_torch", SCRIPT)
install_torch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_torch)

PY = "/venv/bin/python"
PIP = [PY, "-m", "pip", "install", "--progress-bar", "off"]
CPU = ["--index-url", "https://download.pytorch.org/whl/cpu"]


@pytest.mark.parametrize("platform, gpu, env, expected", [
    ("linux", False, {}, PIP + ["torch>=2.1"] + CPU),
    ("linux", True, {}, PIP + ["torch>=2.1"]),
    ("darwin", False, {}, PIP + ["torch>=2.1"]),
    ("win32", False, {}, PIP + ["torch>=2.1"]),
    ("linux", False, {"TORCH_INDEX": ""}, PIP + ["torch>=2.1"]),
    ("linux", False, {"TORCH_INDEX": "https://download.pytorch.org/whl/cu126"},
     PIP + ["torch>=2.1", "--index-url", "https://download.pytorch.org/whl/cu126"]),
    ("linux", False, {"TORCH_SPEC": "torch==2.13.0"}, PIP + ["torch==2.13.0"] + CPU),
    ("darwin", False, {"TORCH_SPEC": "torch==2.13.0"}, PIP + ["torch==2.13.0"]),
], ids=["linux-no-gpu", "linux-nvidia-smi", "macos", "windows", "index-override-pypi", "index-override-cuda",
        "spec-linux", "spec-macos"])
def test_install_command(platform, gpu, env, expected):
    assert install_torch.plan(platform, gpu, env, installed=None, python=PY) == expected


def test_nothing_to_do_when_torch_is_installed_unless_a_version_is_asked_for():
    assert install_torch.plan("linux", False, {}, installed="2.13.0+cpu", python=PY) is None
    assert install_torch.plan("linux", False, {"TORCH_SPEC": "torch==2.13.0"}, installed="2.13.0", python=PY) \
        == PIP + ["torch==2.13.0"] + CPU


def test_default_range_is_the_one_of_pyproject():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"(torch[^"]*)"', pyproject).group(1) == install_torch.DEFAULT_SPEC


def test_dry_run_prints_the_command_without_the_network():
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--platform", "linux", "--gpu", "no"],
                          capture_output=True, text=True, timeout=60, env={"TORCH_SPEC": "torch==2.13.0",
                                                                           "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("pip install --progress-bar off torch==2.13.0 --index-url "
                                        "https://download.pytorch.org/whl/cpu")


def test_unreachable_index_is_reported_in_one_line():
    problem = install_torch.reachable("http://127.0.0.1:9/whl/cpu", timeout=5)
    assert problem and "\n" not in problem


def test_makefile_installs_torch_first():
    recipe = (ROOT / "Makefile").read_text().split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    lines = [ln.strip() for ln in recipe.splitlines()[1:]]
    assert lines.index("$(PY) scripts/install_torch.py") < next(i for i, ln in enumerate(lines) if "pip install" in ln)
