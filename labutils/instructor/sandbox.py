"""Sandbox: each grading kernel runs in a bubblewrap (``bwrap``) sandbox of its own (Linux).

The kernel sees, read-only, the system (``/usr``, ``/etc``, ``/sys``, ...), the Python installation and its
environment, the ``labutils`` package and the data folder; read-write, only a fresh empty folder of
its own and a private ``/tmp``. It does not see the course repository's notebooks, other
submissions or the grading output; it has no network (the grader talks to it through Unix sockets
in its folder), its own process tree, and it dies with the grader. Everything it writes is thrown
away with its folder. bubblewrap is Debian/Ubuntu's ``bubblewrap`` package and works unprivileged.

``choose_runner(True)`` gives the sandboxed runner when ``bwrap`` works here, else the plain one
with one line saying so; ``choose_runner(False)`` is ``--no-sandbox``.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List as ListTrait

from ..config import data_dir
from .execute import execute

# The grader's variables that the kernel must not inherit (they point at files outside the sandbox).
DROPPED = ("LABUTILS_RESULTS", "LABUTILS_BUILD", "LABUTILS_DATA", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR",
           "JUPYTER_CONFIG_PATH", "JUPYTER_DATA_DIR", "IPYTHONDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME",
           "PYTHONPATH", "PYTHONSTARTUP")


def bwrap() -> str | None:
    """The path of a working ``bwrap``, or None (not installed, or namespaces not allowed here)."""
    found = shutil.which("bwrap")
    if not found:
        return None
    probe = [found, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "--", "true"]
    try:
        return found if subprocess.run(probe, capture_output=True, timeout=20).returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _package_dir() -> Path:
    return Path(__file__).resolve().parent.parent  # labutils/


def sandbox_args(workdir: Path) -> list[str]:
    """bwrap's options: what the kernel may see (read-only unless said) and nothing else."""
    # The kernel's parent is bwrap, not the grader: ipykernel must not watch for the grader's pid.
    args = ["--unshare-all", "--die-with-parent", "--unsetenv", "JPY_PARENT_PID",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for system in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/sys"):  # /sys: CPU counts
        args += ["--ro-bind-try", system, system]
    python = {Path(sys.base_prefix).resolve(), Path(sys.prefix), Path(sys.prefix).resolve(),
              Path(sys.executable).resolve().parent.parent}
    for folder in sorted(python) + [_package_dir()]:
        args += ["--ro-bind", str(folder), str(folder)]
    data = data_dir()
    if data.exists():
        args += ["--ro-bind", str(data), str(data)]
    args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir / "work")]
    return args


def sandbox_env(env: dict | None, workdir: Path) -> dict:
    """The kernel's environment inside the sandbox: private home, caches and build folder."""
    env = {k: v for k, v in (env if env is not None else os.environ).items() if k not in DROPPED}
    home = "/tmp/home"
    env.update({"HOME": home, "MPLCONFIGDIR": f"{home}/.matplotlib", "IPYTHONDIR": f"{home}/.ipython",
                "XDG_CACHE_HOME": f"{home}/.cache", "LABUTILS_BUILD": "/tmp/build",
                "JUPYTER_RUNTIME_DIR": str(workdir), "LABUTILS_DATA": str(data_dir())})
    return env


def _kernel_manager(command: str, workdir: Path) -> type:
    """A kernel manager class that starts the kernel inside bwrap and talks to it over Unix sockets."""

    class SandboxedKernelManager(AsyncKernelManager):
        bwrap_args = ListTrait(sandbox_args(workdir))

        def __init__(self, **kwargs):
            kwargs.update(transport="ipc", ip=str(workdir / "kernel"),
                          connection_file=str(workdir / "kernel.json"))
            super().__init__(**kwargs)

        def format_kernel_cmd(self, extra_arguments=None):
            return [command, *self.bwrap_args, "--", *super().format_kernel_cmd(extra_arguments)]

        async def interrupt_kernel(self):
            # SIGINT to the process group would stop bwrap itself: ask the kernel by message instead
            self.kernel_spec.interrupt_mode = "message"
            return await super()._async_interrupt_kernel()

    return SandboxedKernelManager


def sandboxed_execute(nb, cwd, timeout, env=None, guard=None, command: str = "bwrap"):
    """``execute.execute`` with the kernel in a fresh sandbox. The kernel starts in a folder of its own
    holding copies of the notebooks in ``cwd`` (the same student's submissions: a later notebook may
    load the student's answer to an earlier one, as notebook 06 loads 05's ``multi_hot_visits``)."""
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        workdir = Path(tmp)
        (workdir / "work").mkdir()
        for own in Path(cwd).glob("*.ipynb") if cwd else []:
            shutil.copyfile(own, workdir / "work" / own.name)
        return execute(nb, workdir / "work", timeout, sandbox_env(env, workdir), guard,
                       kernel_manager_class=_kernel_manager(command, workdir))


def choose_runner(sandbox: bool = True):
    """(runner for ``grade_notebook``, one line for the console saying how kernels are isolated)."""
    if not sandbox:
        return execute, ("sandbox: off (--no-sandbox); submissions run with your permissions and can read "
                         "your files")
    if not sys.platform.startswith("linux"):
        return execute, ("sandbox: none on this system (bubblewrap is Linux only); grading without it, as "
                         "--no-sandbox would: student code can read your files")
    command = bwrap()
    if command is None:
        return execute, ("sandbox: bubblewrap not found or not working (apt-get install bubblewrap); grading "
                         "without it, as --no-sandbox would: student code can read your files")
    return functools.partial(sandboxed_execute, command=command), \
        "sandbox: bubblewrap (each submission sees only its own empty folder, no network)"
