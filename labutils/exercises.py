"""Deprecated alias of :mod:`labutils.notebook_code` (kept while callers move; to be removed)."""
from .notebook_code import cell_source, load_notebook as load_exercises, notebook_path, run_check  # noqa: F401
