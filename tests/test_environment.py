"""environment.yml and pyproject.toml must list the same dependencies."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name → PyPI name


def pyproject_deps():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower(): d.replace(" ", "") for d in data["project"]["dependencies"]}


def conda_deps():
    deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.-]+)(.*)$", line)
        if m and m.group(1) not in ("python", "pip"):
            name = CONDA_NAMES.get(m.group(1).lower(), m.group(1).lower())
            deps[name] = name + m.group(2).replace(" ", "")
    return deps


def test_same_dependencies_and_ranges():
    py, conda = pyproject_deps(), conda_deps()
    assert set(py) == set(conda), f"only in pyproject: {set(py) - set(conda)}; only in environment.yml: {set(conda) - set(py)}"
    for name in py:
        assert py[name] == conda[name], f"{name}: pyproject says {py[name]!r}, environment.yml {conda[name]!r}"


def test_no_hard_pins():
    assert not [d for d in pyproject_deps().values() if "==" in d]


def test_environment_installs_the_package():
    assert "- -e ." in (ROOT / "environment.yml").read_text()
