"""Notebook 02's check cells accept correct answers and reject the wrong ones issue 4 lists.

Each check cell runs on its own (labutils.exercises.run_check) against: the notebook's solution,
an independently written correct variant, and every wrong variant (each must raise AssertionError).
"""
import math

import numpy as np
import pytest

from labutils.exercises import load_exercises, run_check

NB = "02_vanishing_gradients"


@pytest.fixture(scope="module")
def solution():
    return load_exercises(NB)


# ---------------------------------------------------------------- jacobian_norms
def jacobian_norms_forward(W, H):
    """Correct, written differently: each product built from scratch, oldest factor first."""
    T, hidden = H.shape
    norms = np.empty(T)
    for t in range(T):
        product = np.eye(hidden)
        for k in range(t + 1, T):
            product = np.diag(1 - H[k] ** 2) @ W @ product   # newest factor on the left
        norms[t] = np.linalg.svd(product, compute_uv=False)[0]
    return norms


def _backward(W, H, factor, norm):
    T, hidden = H.shape
    norms, product = np.ones(T), np.eye(hidden)
    for t in range(T - 2, -1, -1):
        product = factor(product, W, H[t + 1])
        norms[t] = norm(product)
    return norms


spectral = lambda A: np.linalg.norm(A, 2)  # noqa: E731
WRONG_JACOBIANS = {
    # the product taken in the wrong order: newest factor on the right
    "reversed product": lambda W, H: _backward(W, H, lambda P, W, h: (np.diag(1 - h**2) @ W) @ P, spectral),
    # the product in the wrong order inside each factor: W diag(1 - h²)
    "W diag(1-h²)": lambda W, H: _backward(W, H, lambda P, W, h: P @ (W @ np.diag(1 - h**2)), spectral),
    # diag(1 - h) instead of diag(1 - h²)
    "diag(1-h)": lambda W, H: _backward(W, H, lambda P, W, h: P @ (np.diag(1 - h) @ W), spectral),
    # Frobenius norm where the spectral norm is asked
    "Frobenius norm": lambda W, H: _backward(W, H, lambda P, W, h: P @ (np.diag(1 - h**2) @ W), np.linalg.norm),
    # off by one step: the state before the step instead of after it
    "h^(t) instead of h^(t+1)": lambda W, H: _backward(
        W, np.vstack([H[1:], H[:1]]), lambda P, W, h: P @ (np.diag(1 - h**2) @ W), spectral),
}


def test_jacobian_norms_solution_passes(solution):
    run_check(NB, "jacobian_norms", jacobian_norms=solution.jacobian_norms)


def test_jacobian_norms_other_correct_version_passes(solution):
    rng = np.random.default_rng(5)
    W, H = rng.normal(size=(5, 5)), np.tanh(rng.normal(size=(9, 5)))
    np.testing.assert_allclose(jacobian_norms_forward(W, H), solution.jacobian_norms(W, H), rtol=1e-10)
    run_check(NB, "jacobian_norms", jacobian_norms=jacobian_norms_forward)


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


def clip_each_array(grads, max_norm):
    # clipping each array by its own norm
    clipped = {k: g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for k, g in grads.items()}
    return clipped, math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))


def clip_always(grads, max_norm):
    # clipping when the norm is already below the threshold: rescales every gradient to max_norm
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))
    return {k: g * max_norm / (total + 1e-6) for k, g in grads.items()}, total


def norm_after_clipping(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads.values()))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {k: g * scale for k, g in grads.items()}, total * scale


def test_clip_grad_norm_solution_passes(solution):
    run_check(NB, "clip_grad_norm", clip_grad_norm=solution.clip_grad_norm)


def test_clip_grad_norm_other_correct_version_passes():
    run_check(NB, "clip_grad_norm", clip_grad_norm=clip_grad_norm_concatenated)


@pytest.mark.parametrize("wrong", [clip_each_array, clip_always, norm_after_clipping], ids=lambda f: f.__name__)
def test_clip_grad_norm_wrong_versions_rejected(wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "clip_grad_norm", clip_grad_norm=wrong)
