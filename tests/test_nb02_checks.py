"""Notebook 02's check cells accept every correct answer and reject the typical wrong ones.

For each exercise: the notebook's solution passes its check cell (run on its own through
``labutils.notebook_code.run_check``), so do at least two correct versions written differently (loop vs
vectorised, PyTorch vs NumPy, float32 vs float64), and every named wrong version raises AssertionError.
The slow tests run the notebook itself in FAST mode, with a correct version written differently in place
of the solution, through the last section that uses the exercise: the experiments downstream must hold
for any correct answer, not only for the solution.
"""
from __future__ import annotations

import math
import re
import warnings

import nbformat
import numpy as np
import pytest
import torch

import labutils.config
from labutils.notebook_code import load_notebook, notebook_path, run_check

NB = "02_vanishing_gradients"


@pytest.fixture(scope="module")
def notebook():
    return load_notebook(NB)


# ---------------------------------------------------------------- tanh_step_jacobian
def tanh_step_jacobian_loop(x_t, h_prev, U, W, b1):
    """Correct, written differently: one example at a time, column vectors and np.diag."""
    J = np.empty((len(x_t),) + W.shape)
    for n in range(len(x_t)):
        h = np.tanh(U @ x_t[n] + W @ h_prev[n] + b1)
        J[n] = np.diag(1 - h * h) @ W
    return J


def tanh_step_jacobian_float32(x_t, h_prev, U, W, b1):
    """Correct, written differently: float32 arithmetic, tanh'(z) written as 1 / cosh(z)², einsum."""
    x_t, h_prev, U, W, b1 = (np.asarray(a, dtype=np.float32) for a in (x_t, h_prev, U, W, b1))
    z = np.einsum("hd,nd->nh", U, x_t) + np.einsum("hk,nk->nh", W, h_prev) + b1
    with np.errstate(over="ignore"):                 # cosh overflows to inf for |z| > 89: slope 0, as it should
        slopes = 1 / np.cosh(z) ** 2
    return np.einsum("nh,hk->nhk", slopes, W)


def tanh_step_jacobian_torch(x_t, h_prev, U, W, b1):
    """Correct, written differently: PyTorch tensors and torch.diag_embed."""
    x_t, h_prev, U, W, b1 = (torch.as_tensor(a) for a in (x_t, h_prev, U, W, b1))
    h_t = torch.tanh(torch.addmm(b1, x_t, U.T) + h_prev @ W.T)
    return (torch.diag_embed(1 - h_t.pow(2)) @ W).numpy()


def _wrong_step(slope_of, matrix_of=lambda W: W, rows=True, bias=True, recurrent=lambda h, W: h @ W.T):
    def tanh_step_jacobian(x_t, h_prev, U, W, b1):
        h_t = np.tanh(x_t @ U.T + recurrent(h_prev, W) + (b1 if bias else 0.0))
        slopes = slope_of(h_t, h_prev)
        scale = slopes[:, :, None] if rows else slopes[:, None, :]
        return scale * matrix_of(W)
    return tanh_step_jacobian


WRONG_STEPS = {
    # the slope left out: J = W for every example
    "missing diag(1-h²)": _wrong_step(lambda h, h_prev: np.ones_like(h)),
    # (1 - h) instead of (1 - h²)
    "(1-h) instead of (1-h²)": _wrong_step(lambda h, h_prev: 1 - h),
    # diag(1 - h²) W.T: ∂h_j/∂h_i instead of ∂h_i/∂h_j
    "transposed W": _wrong_step(lambda h, h_prev: 1 - h**2, matrix_of=lambda W: W.T),
    # W diag(1 - h²): the slopes scale the columns of W instead of its rows
    "W diag(1-h²)": _wrong_step(lambda h, h_prev: 1 - h**2, rows=False),
    # the slope of the state before the step
    "slope at h_prev": _wrong_step(lambda h, h_prev: 1 - h_prev**2),
    # the forward step without its bias
    "forward without b1": _wrong_step(lambda h, h_prev: 1 - h**2, bias=False),
    # the forward step with h_prev @ W (W transposed in the recurrence)
    "forward with h_prev @ W": _wrong_step(lambda h, h_prev: 1 - h**2, recurrent=lambda h, W: h @ W),
}
CORRECT_STEPS = [tanh_step_jacobian_loop, tanh_step_jacobian_float32, tanh_step_jacobian_torch]


def test_tanh_step_jacobian_solution_passes(notebook):
    run_check(NB, "tanh_step_jacobian", tanh_step_jacobian=notebook.tanh_step_jacobian)


@pytest.mark.parametrize("correct", CORRECT_STEPS, ids=lambda f: f.__name__)
def test_tanh_step_jacobian_other_correct_versions_pass(notebook, correct):
    rng = np.random.default_rng(5)
    args = (rng.normal(size=(3, 2)), rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(4, 4)),
            rng.normal(size=4))
    np.testing.assert_allclose(correct(*args), notebook.tanh_step_jacobian(*args), rtol=1e-5, atol=1e-6)
    run_check(NB, "tanh_step_jacobian", tanh_step_jacobian=correct)


@pytest.mark.parametrize("name", WRONG_STEPS)
def test_tanh_step_jacobian_wrong_versions_rejected(name):
    with pytest.raises(AssertionError):
        run_check(NB, "tanh_step_jacobian", tanh_step_jacobian=WRONG_STEPS[name])


# ---------------------------------------------------------------- jacobian_norms
def jacobian_norms_forward(W, hs):
    """Correct, written differently: each product built from scratch, oldest factor first."""
    T, hidden = hs.shape
    norms = np.empty(T)
    for t in range(T):
        product = np.eye(hidden)
        for k in range(t + 1, T):
            product = np.diag(1 - hs[k] ** 2) @ W @ product   # newest factor on the left
        norms[t] = np.linalg.svd(product, compute_uv=False)[0]
    return norms


def jacobian_norms_torch(W, hs):
    """Correct, written differently: PyTorch, all factors at once, then products from the last step back."""
    W, hs = torch.as_tensor(W), torch.as_tensor(hs)
    factors = (1 - hs[1:] ** 2)[:, :, None] * W        # row k: ∂h^(k+2)/∂h^(k+1)
    product = torch.eye(W.shape[0], dtype=W.dtype)
    norms = [torch.linalg.matrix_norm(product, ord=2)]
    for factor in reversed(factors):
        product = product @ factor
        norms.append(torch.linalg.matrix_norm(product, ord=2))
    return torch.stack(norms[::-1]).numpy()


def jacobian_norms_float32(W, hs):
    """Correct, written differently: float32 arithmetic, np.diag factors, largest singular value by SVD."""
    W, hs = np.asarray(W, dtype=np.float32), np.asarray(hs, dtype=np.float32)
    T = len(hs)
    norms, product = np.ones(T, dtype=np.float32), np.eye(W.shape[0], dtype=np.float32)
    for t in reversed(range(T - 1)):
        product = product @ np.diag(1 - hs[t + 1] * hs[t + 1]) @ W
        norms[t] = np.linalg.svd(product, compute_uv=False)[0]
    return norms


def _backward(W, hs, factor, norm):
    T, hidden = hs.shape
    norms, product = np.ones(T), np.eye(hidden)
    for t in range(T - 2, -1, -1):
        product = factor(product, W, hs[t + 1])
        norms[t] = norm(product)
    return norms


spectral = lambda A: np.linalg.norm(A, 2)  # noqa: E731
WRONG_JACOBIANS = {
    # the product taken in the wrong order: newest factor on the right
    "reversed product": lambda W, hs: _backward(W, hs, lambda P, W, h: (np.diag(1 - h**2) @ W) @ P, spectral),
    # the product in the wrong order inside each factor: W diag(1 - h²)
    "W diag(1-h²)": lambda W, hs: _backward(W, hs, lambda P, W, h: P @ (W @ np.diag(1 - h**2)), spectral),
    # diag(1 - h) instead of diag(1 - h²)
    "diag(1-h)": lambda W, hs: _backward(W, hs, lambda P, W, h: P @ (np.diag(1 - h) @ W), spectral),
    # Frobenius norm where the spectral norm is asked
    "Frobenius norm": lambda W, hs: _backward(W, hs, lambda P, W, h: P @ (np.diag(1 - h**2) @ W), np.linalg.norm),
    # off by one step: the state before the step instead of after it
    "h^(t) instead of h^(t+1)": lambda W, hs: _backward(
        W, np.vstack([hs[1:], hs[:1]]), lambda P, W, h: P @ (np.diag(1 - h**2) @ W), spectral),
}
CORRECT_JACOBIANS = [jacobian_norms_forward, jacobian_norms_torch, jacobian_norms_float32]


def test_jacobian_norms_solution_passes(notebook):
    run_check(NB, "jacobian_norms", jacobian_norms=notebook.jacobian_norms)


@pytest.mark.parametrize("correct", CORRECT_JACOBIANS, ids=lambda f: f.__name__)
def test_jacobian_norms_other_correct_versions_pass(notebook, correct):
    rng = np.random.default_rng(5)
    W, hs = rng.normal(size=(5, 5)), np.tanh(rng.normal(size=(9, 5)))
    np.testing.assert_allclose(correct(W, hs), notebook.jacobian_norms(W, hs), rtol=1e-5)
    run_check(NB, "jacobian_norms", jacobian_norms=correct)


@pytest.mark.parametrize("name", WRONG_JACOBIANS)
def test_jacobian_norms_wrong_versions_rejected(name):
    with pytest.raises(AssertionError):
        run_check(NB, "jacobian_norms", jacobian_norms=WRONG_JACOBIANS[name])


# ---------------------------------------------------------------- clip_grad_norm
def clip_grad_norm_concatenated(grads, max_norm):
    """Correct, written differently: one flat vector, no 1e-6 in the denominator."""
    total = float(np.linalg.norm(np.concatenate([np.ravel(g) for g in grads.values()])))
    if total <= max_norm:
        return dict(grads), total
    return {k: np.asarray(g) * (max_norm / total) for k, g in grads.items()}, total


def clip_grad_norm_torch_float32(grads, max_norm):
    """Correct, written differently: float32 tensors, the global norm as the norm of the per-array norms."""
    tensors = {k: torch.as_tensor(np.asarray(g), dtype=torch.float32) for k, g in grads.items()}
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors.values()]))
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    return {k: (t * factor).numpy() for k, t in tensors.items()}, total.item()


def clip_each_array(grads, max_norm):
    # clipping each array by its own norm
    clipped = {k: g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for k, g in grads.items()}
    return clipped, math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))


def clip_always(grads, max_norm):
    # clipping when the norm is already below the threshold: rescales every gradient to max_norm
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))
    return {k: g * max_norm / (total + 1e-6) for k, g in grads.items()}, total


def norm_after_clipping(grads, max_norm):
    # returns the norm after clipping instead of before
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {k: g * scale for k, g in grads.items()}, total * scale


def clip_values(grads, max_norm):
    # clipping every entry to [-max_norm, max_norm] (value clipping, which changes the direction)
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))
    return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, total


CORRECT_CLIPS = [clip_grad_norm_concatenated, clip_grad_norm_torch_float32]


def test_clip_grad_norm_solution_passes(notebook):
    run_check(NB, "clip_grad_norm", clip_grad_norm=notebook.clip_grad_norm)


@pytest.mark.parametrize("correct", CORRECT_CLIPS, ids=lambda f: f.__name__)
def test_clip_grad_norm_other_correct_versions_pass(correct):
    run_check(NB, "clip_grad_norm", clip_grad_norm=correct)


@pytest.mark.parametrize("wrong", [clip_each_array, clip_always, norm_after_clipping, clip_values],
                         ids=lambda f: f.__name__)
def test_clip_grad_norm_wrong_versions_rejected(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "clip_grad_norm", clip_grad_norm=wrong)


# ---------------------------------------------------------------- the notebook's library cells
def test_library_cells_agree_with_autograd(notebook):
    """gradient_norms (states + jacobian_norms) and autograd_gradient_norms are independent routes."""
    rng = np.random.default_rng(0)
    W, U, x = 0.9 * np.linalg.qr(rng.normal(size=(6, 6)))[0], rng.normal(size=(6, 3)), rng.normal(size=(25, 3))
    distances, by_autograd = notebook.autograd_gradient_norms(x, U, W, torch.tanh, every=5)
    np.testing.assert_allclose(notebook.gradient_norms(x, U, W)[distances], by_autograd, rtol=1e-9)


def test_fold_point_is_a_tangent_fixed_point(notebook):
    w, h = notebook.fold_point(-0.1)
    assert abs(math.tanh(w * h - 0.1) - h) < 1e-4 and abs(w * (1 - h * h) - 1) < 1e-9


# ---------------------------------------------------------------- the notebook, with a correct variant
def run_notebook_through(section: int | None, **substitutes) -> dict:
    """Execute the notebook's code cells in order, in FAST mode, up to the end of ``## section.``
    (``None``: to the end). Each name in ``substitutes`` replaces the solution right after its cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace = {"__name__": "__main__"}
    for cell in nbformat.read(notebook_path(NB), as_version=4).cells:
        if cell.cell_type == "markdown":
            heading = re.match(r"## (\d+)\. |## Summary", cell.source)
            if heading and section is not None and (heading.group(1) is None or int(heading.group(1)) > section):
                break
            continue
        exec(compile(cell.source, f"{NB}.ipynb", "exec"), namespace)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in substitutes:
            namespace[grade_id] = substitutes[grade_id]
        plt.close("all")
    return namespace


THROUGH = {  # exercise: (last section that uses it, a correct version written differently)
    "tanh_step_jacobian": (1, tanh_step_jacobian_float32),
    "clip_grad_norm": (4, clip_grad_norm_torch_float32),
    "jacobian_norms": (None, jacobian_norms_float32),     # sections 2, 3, 5 and 6
}


@pytest.mark.slow
@pytest.mark.parametrize("exercise", THROUGH)
def test_notebook_runs_with_another_correct_version(monkeypatch, exercise):
    section, variant = THROUGH[exercise]
    monkeypatch.setattr(labutils.config, "FAST", True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-interactive.*")   # plt.show() under Agg
        namespace = run_notebook_through(section, **{exercise: variant})
    assert namespace[exercise] is variant
