"""Checks that teach: a failure names the quantity, the worst entry, expected vs got, and a hint.

On success each check prints one line, e.g. ``✓ rnn_backward dW: max rel. error 3.1e-10``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def rel_error(got, expected, eps: float = 1e-12) -> np.ndarray:
    """Symmetric relative error |a − b| / max(|a| + |b|, eps), entry by entry.

    Symmetric, so it does not matter which side is the reference, and it never divides by a sum that
    can cancel (|a + b| would: a = 1, b = −1 gives infinity).
    """
    a, b = _to_numpy(got).astype(np.float64), _to_numpy(expected).astype(np.float64)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)


def ok(message: str) -> None:
    """The one line a passing check prints."""
    print(f"✓ {message}")


def _fail(name: str, message: str, hint: str | None) -> None:
    text = f"{name}: {message}"
    if hint:
        text += f"\n  hint: {hint}"
    raise AssertionError(text)


def assert_shape(name: str, got, expected_shape, hint: str | None = None) -> None:
    """Fail with a clear message when ``got`` does not have ``expected_shape``."""
    shape = tuple(_to_numpy(got).shape) if not hasattr(got, "shape") else tuple(got.shape)
    if shape != tuple(expected_shape):
        _fail(name, f"shape {shape}, expected {tuple(expected_shape)}", hint)


def assert_close(name: str, got, expected, rtol: float = 1e-5, atol: float = 1e-6,
                 hint: str | None = None, quiet: bool = False) -> float:
    """Assert ``|got − expected| ≤ atol + rtol·|expected|`` everywhere, as ``numpy.isclose`` does.

    The default tolerance accepts float32 work (float32 carries about 7 significant digits, and a
    sum of many terms loses one or two of them); pass tighter ones only where the exercise asks for
    float64, and say so in its docstring.

    On failure the message names the worst entry (index, expected, got, error) and the hint.
    On success prints ``✓ name: max abs. error …`` (unless ``quiet``) and returns that error.
    """
    g, e = _to_numpy(got), _to_numpy(expected)
    if g.shape != e.shape:
        _fail(name, f"shape {g.shape}, expected {e.shape}", hint)
    g64, e64 = g.astype(np.float64), e.astype(np.float64)
    if g64.size == 0:  # nothing to compare: equal shapes suffice
        if not quiet:
            ok(f"{name}: empty, shapes match")
        return 0.0
    if not np.all(np.isfinite(g64)):
        idx = np.unravel_index(np.argmax(~np.isfinite(g64)), g64.shape) if g64.ndim else ()
        _fail(name, f"entry {idx} is {g64[idx]} (not finite)", hint)
    err = np.abs(g64 - e64)
    excess = err - (atol + rtol * np.abs(e64))
    worst = np.unravel_index(np.argmax(excess), excess.shape) if excess.ndim else ()
    if excess[worst] > 0:
        bad = int(np.sum(excess > 0))
        _fail(name, f"{bad} of {excess.size} entries differ; worst at index {tuple(int(i) for i in worst)}: "
                    f"expected {e64[worst]:.6g}, got {g64[worst]:.6g} (abs. error {err[worst]:.3g}, "
                    f"allowed {atol + rtol * abs(e64[worst]):.3g})", hint)
    max_err = float(err.max()) if err.size else 0.0
    if not quiet:
        ok(f"{name}: max abs. error {max_err:.2g}")
    return max_err


def assert_rel_error(name: str, got, expected, tol: float = 1e-8, hint: str | None = None,
                     quiet: bool = False, floor: float = 1e-12, atol: float = 0.0) -> float:
    """Assert the symmetric relative error (see ``rel_error``) is ≤ ``tol`` for every entry.

    ``floor`` keeps entries that are zero on both sides from dividing by zero; entries whose absolute
    difference is at most ``atol`` count as equal (the noise level of the reference). Returns the max
    relative error over the other entries.
    """
    g, e = _to_numpy(got), _to_numpy(expected)
    if g.shape != e.shape:
        _fail(name, f"shape {g.shape}, expected {e.shape}", hint)
    if g.size == 0:
        if not quiet:
            ok(f"{name}: empty, shapes match")
        return 0.0
    err = rel_error(g, e, eps=floor)
    if atol > 0:
        err = np.where(np.abs(g.astype(np.float64) - e.astype(np.float64)) <= atol, 0.0, err)
    if err.size and not np.all(np.isfinite(err)):
        _fail(name, "contains NaN or inf", hint)
    worst = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
    max_err = float(err[worst]) if err.size else 0.0
    if max_err > tol:
        _fail(name, f"max rel. error {max_err:.3g} > {tol:g} at index {tuple(int(i) for i in worst)}: "
                    f"expected {e[worst]:.10g}, got {g[worst]:.10g}", hint)
    if not quiet:
        ok(f"{name}: max rel. error {max_err:.2g}")
    return max_err


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + h) − f(x − h)) / 2h of a scalar function, one entry at a time.

    ``x`` is changed in place and restored; ``f`` takes no arguments and reads ``x``. Use float64:
    in float32 the rounding error of f swamps a difference of size h.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 array, got {x.dtype}: "
                        "in float32 the finite difference is mostly rounding noise.")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def check_gradient(name: str, f: Callable[[], float], x: np.ndarray, analytic: np.ndarray,
                   tol: float = 1e-8, h: float = 1e-6, hint: str | None = None) -> float:
    """Compare an analytic gradient with central differences of ``f`` at ``x`` (float64).

    Passes when the symmetric relative error of every entry is ≤ ``tol``. A central difference is
    itself only accurate to about ``eps·|f| / h`` in absolute terms (rounding in f), so an entry whose
    analytic and numerical values differ by less than ten times that noise counts as equal: a correct
    gradient with tiny entries must not fail. Returns the max relative error.
    """
    noise = 10 * np.finfo(np.float64).eps * max(abs(float(f())), 1.0) / h
    numeric = numerical_gradient(f, x, h)
    return assert_rel_error(name, analytic, numeric, tol=tol, floor=1e-10, atol=noise,
                            hint=hint or "compare your formula with the derivation above, entry by entry")


def assert_raises(name: str, exc_type, fn: Callable, *args, **kwargs) -> None:
    """Assert that ``fn(*args, **kwargs)`` raises ``exc_type``."""
    try:
        fn(*args, **kwargs)
    except exc_type:
        ok(f"{name}: raises {exc_type.__name__}")
        return
    except Exception as exc:  # noqa: BLE001 - report the wrong kind of error
        raise AssertionError(f"{name}: raised {type(exc).__name__}: {exc}, expected {exc_type.__name__}") from exc
    raise AssertionError(f"{name}: expected {exc_type.__name__}, nothing was raised")


def assert_greater(name: str, value: float, threshold: float, hint: str | None = None) -> None:
    """Assert a measured figure clears a floor, e.g. a test accuracy above chance."""
    if not value > threshold:
        _fail(name, f"{value:.4g} is not above {threshold:.4g}", hint)
    ok(f"{name}: {value:.4g} > {threshold:.4g}")


def assert_less(name: str, value: float, threshold: float, hint: str | None = None) -> None:
    """Assert a measured figure stays under a ceiling, e.g. a loss below the chance level."""
    if not value < threshold:
        _fail(name, f"{value:.4g} is not below {threshold:.4g}", hint)
    ok(f"{name}: {value:.4g} < {threshold:.4g}")
