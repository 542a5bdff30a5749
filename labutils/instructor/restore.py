"""Restore: a submission's check cells and read-only cells come back from the solution notebook.

As nbgrader's ``OverwriteCells`` does with its database, matched by grade id: hidden tests come
back, an edited check is replaced by the original, a deleted one is put back right after the cell it
followed, changed points or flags are reset. Grade ids the source does not know lose their nbgrader
metadata, so a student cannot add a graded cell. Solution cells keep the student's code.
"""
from __future__ import annotations

import copy
import uuid

from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds
from nbgrader.utils import is_locked


def grade_id(cell) -> str | None:
    """The nbgrader grade id of a cell, or None for an ordinary cell."""
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _as_released(cell) -> str:
    """The source the student was given: the instructor's cell without its hidden tests."""
    shown = copy.deepcopy(cell)
    ClearHiddenTests()._remove_hidden_test_region(shown)
    return shown.source


def _fresh_copy(cell, nb, cell_id: str | None = None):
    new = copy.deepcopy(cell)
    if new.cell_type == "code":
        new.outputs, new.execution_count = [], None
    new.pop("id", None)
    if nb.get("nbformat_minor", 0) >= 5:
        new["id"] = cell_id or uuid.uuid4().hex[:8]
    return new


def _restore_present(nb, originals: dict) -> list[str]:
    """Replace protected cells and reset solution metadata in place; return notes."""
    notes = []
    for i, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid is None:
            continue
        original = originals.get(gid)
        if original is None:
            del cell.metadata["nbgrader"]
            notes.append(f"cell `{gid}` is not in the assignment: graded as an ordinary cell")
        elif is_locked(original):  # check cells and read-only cells: the instructor's source
            if cell.get("source") not in (_as_released(original), original.source) \
                    or cell.cell_type != original.cell_type:
                notes.append(f"cell `{gid}` was edited: graded with the original")
            nb.cells[i] = _fresh_copy(original, nb, cell.get("id"))
        else:  # a solution cell: the student's code, the instructor's metadata
            cell.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
            if cell.cell_type != original.cell_type:  # e.g. turned into markdown
                nb.cells[i] = _fresh_copy(original, nb, cell.get("id"))
                nb.cells[i].source = cell.source
    return notes


def _put_back_missing(nb, source, originals: dict) -> list[str]:
    """Insert deleted protected cells after the graded cell they followed; return notes."""
    notes = []
    order = [grade_id(c) for c in source.cells if grade_id(c)]
    for k, gid in enumerate(order):
        if not is_locked(originals[gid]) or gid in {grade_id(c) for c in nb.cells}:
            continue
        present = {grade_id(c): j for j, c in enumerate(nb.cells) if grade_id(c)}
        before = [present[g] for g in order[:k] if g in present]
        after = [present[g] for g in order[k + 1:] if g in present]
        at = max(before) + 1 if before else (after[0] if after else len(nb.cells))
        nb.cells.insert(at, _fresh_copy(originals[gid], nb))
        notes.append(f"cell `{gid}` was missing: put back and graded with the original")
    return notes


def restore_locked_cells(submission, source) -> tuple[object, list[str]]:
    """A copy of ``submission`` whose check/locked cells are the source's; returns (notebook, notes)."""
    nb = copy.deepcopy(submission)
    for cell in nb.cells:  # nbgrader flags without a grade id mean nothing (and upset nbgrader)
        if "nbgrader" in cell.metadata and not grade_id(cell):
            del cell.metadata["nbgrader"]
    nb, _ = DeduplicateIds().preprocess(nb, {})  # a copied check cell counts once (the last copy)
    nb.metadata["kernelspec"] = copy.deepcopy(source.metadata.get("kernelspec", {}))
    originals = {grade_id(c): c for c in source.cells if grade_id(c)}
    notes = _restore_present(nb, originals) + _put_back_missing(nb, source, originals)
    seen = set()
    for cell in nb.cells:  # copied cells share an id, which nbformat rejects
        if "id" in cell and cell["id"] in seen:
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell.get("id"))
    return nb, notes
