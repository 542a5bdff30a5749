"""Notebook 01's check cells accept correct answers and reject the wrong ones issue 3 lists.

Each check cell runs on its own through ``labutils.exercises.run_check``. For every exercise we show:
(1) the notebook's solution passes, (2) an independently written correct version (loops where the
solution is vectorised, or the other way round) passes, (3) each typical mistake raises AssertionError.
"""
import math

import numpy as np
import pytest

from labutils.exercises import load_exercises, run_check

NB = "01_bptt"
GRADE_IDS = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "softmax_cross_entropy", "rnn_backward"]


@pytest.fixture(scope="module")
def solution():
    return vars(load_exercises(NB))


# ---------------------------------------------------------------- step forward / backward
def make_step_forward(bug=None):
    """Row by row over the batch (the solution is vectorised)."""
    def rnn_step_forward(x_t, h_prev, U, W, b1):
        h_t = np.empty((x_t.shape[0], U.shape[0]))
        for n in range(x_t.shape[0]):
            recurrent = h_prev[n] @ W if bug == "W_transposed" else W @ h_prev[n]
            if bug == "no_recurrent_term":
                recurrent = 0.0
            bias = 0.0 if bug == "no_bias" else b1
            h_t[n] = np.tanh(U @ x_t[n] + recurrent + bias)
        return h_t, {"x": x_t, "h_prev": h_prev, "h": h_t, "U": U, "W": W}
    return rnn_step_forward


def make_step_backward(bug=None):
    """Row by row with outer products (the solution uses matrix products)."""
    def rnn_step_backward(dh_t, cache):
        x, h_prev, h, U, W = (cache[k] for k in ("x", "h_prev", "h", "U", "W"))
        dx, dh_prev = np.zeros_like(x), np.zeros_like(h_prev)
        dU, dW, db1 = np.zeros_like(U), np.zeros_like(W), np.zeros(U.shape[0])
        for n in range(x.shape[0]):
            local = (1 - h[n]) if bug == "tanh_derivative_1_minus_h" else (1 - h[n] ** 2)
            delta = dh_t[n] * local
            dx[n] = U.T @ delta
            dh_prev[n] = W @ delta if bug == "W_not_transposed" else W.T @ delta
            dU += np.outer(delta, x[n])
            dW += np.outer(delta, h[n] if bug == "W_times_h_t" else h_prev[n])
            db1 += delta
        if bug == "bias_not_summed_over_batch":
            db1 = dh_t * (1 - h ** 2)
        return dx, dh_prev, dU, dW, db1
    return rnn_step_backward


# ---------------------------------------------------------------- sequence forward / backward
def make_rnn_forward(bug=None):
    """Input projections for all steps at once, then the recurrence (the solution calls the step)."""
    def rnn_forward(X, h0, params):
        U, W, V, b1, b2 = (params[k] for k in ("U", "W", "V", "b1", "b2"))
        N, T, _ = X.shape
        inputs = np.einsum("ntd,hd->nth", X, U) + b1
        H = np.zeros((N, T, W.shape[0]))
        h = np.zeros_like(h0) if bug == "ignores_h0" else h0
        previous = []
        for t in range(T):
            previous.append(h)
            h = np.tanh(inputs[:, t] + (0.0 if bug == "no_recurrent_term" else h @ W.T))
            H[:, t] = h
        H_prev = np.stack(previous, axis=1)
        O = (H_prev if bug == "output_from_previous_state" else H) @ V.T + b2
        return H, O, {"X": X, "H": H, "H_prev": H_prev, "params": params}
    return rnn_forward


def make_rnn_backward(bug=None):
    """Gradients w.r.t. z^(t) collected first, parameter sums by einsum afterwards."""
    def rnn_backward(dO, cache):
        X, H, H_prev, p = cache["X"], cache["H"], cache["H_prev"], cache["params"]
        N, T, _ = dO.shape
        delta = np.zeros_like(H)
        recurrent = np.zeros_like(H[:, 0])
        for t in range(T - 1, -1, -1):
            dh = dO[:, t] @ p["V"]
            if bug != "no_recurrent_term":
                dh = dh + recurrent
            local = (1 - H[:, t]) if bug == "tanh_derivative_1_minus_h" else (1 - H[:, t] ** 2)
            delta[:, t] = dh * local
            recurrent = delta[:, t] @ p["W"]
        grads = {
            "U": np.einsum("nth,ntd->hd", delta, X),
            "W": np.einsum("nth,ntj->hj", delta, H if bug == "W_times_h_t" else H_prev),
            "V": np.einsum("ntk,nth->kh", dO, H),
            "b1": delta.sum(axis=(0, 1)),
            "b2": dO.sum(axis=(0, 1)),
            "h0": recurrent,
        }
        if bug == "b1_not_summed_over_time":
            grads["b1"] = delta.sum(axis=0)
        if bug == "b1_only_last_step":
            grads["b1"] = delta[:, -1].sum(axis=0)
        if bug == "b2_not_summed_over_batch":
            grads["b2"] = dO.sum(axis=1)
        if bug == "b2_not_summed_over_time":
            grads["b2"] = dO.sum(axis=0)
        return grads
    return rnn_backward


# ---------------------------------------------------------------- softmax cross-entropy
def make_softmax_cross_entropy(bug=None):
    """One (sequence, step) at a time with math.log (the solution is vectorised)."""
    def softmax_cross_entropy(O, y):
        N, T, K = O.shape
        loss, dO = 0.0, np.zeros_like(O)
        for n in range(N):
            for t in range(T):
                shift = 0.0 if bug == "no_max_shift" else O[n, t].max()
                e = np.exp(O[n, t] - shift)
                p = e / e.sum()
                loss -= math.log(p[y[n, t]])
                dO[n, t] = p
                dO[n, t, y[n, t]] -= 1
        if bug == "gradient_without_batch_average":
            return loss / N, dO
        if bug == "loss_averaged_over_time":
            return loss / (N * T), dO / N
        if bug == "loss_not_averaged_over_batch":
            return loss, dO / N
        return loss / N, dO / N
    return softmax_cross_entropy


def definitions(**overrides):
    """A correct set of independent definitions, with some replaced."""
    defs = {"rnn_step_forward": make_step_forward(), "rnn_step_backward": make_step_backward(),
            "rnn_forward": make_rnn_forward(), "softmax_cross_entropy": make_softmax_cross_entropy(),
            "rnn_backward": make_rnn_backward()}
    defs.update(overrides)
    return defs


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_solution_passes(solution, grade_id):
    run_check(NB, grade_id, **solution)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_independent_correct_version_passes(grade_id):
    run_check(NB, grade_id, **definitions())


WRONG = [
    ("rnn_step_forward", "rnn_step_forward", make_step_forward, "no_recurrent_term"),
    ("rnn_step_forward", "rnn_step_forward", make_step_forward, "W_transposed"),
    ("rnn_step_forward", "rnn_step_forward", make_step_forward, "no_bias"),
    ("rnn_step_backward", "rnn_step_backward", make_step_backward, "tanh_derivative_1_minus_h"),
    ("rnn_step_backward", "rnn_step_backward", make_step_backward, "W_times_h_t"),
    ("rnn_step_backward", "rnn_step_backward", make_step_backward, "W_not_transposed"),
    ("rnn_step_backward", "rnn_step_backward", make_step_backward, "bias_not_summed_over_batch"),
    ("rnn_forward", "rnn_forward", make_rnn_forward, "no_recurrent_term"),
    ("rnn_forward", "rnn_forward", make_rnn_forward, "ignores_h0"),
    ("rnn_forward", "rnn_forward", make_rnn_forward, "output_from_previous_state"),
    ("softmax_cross_entropy", "softmax_cross_entropy", make_softmax_cross_entropy, "gradient_without_batch_average"),
    ("softmax_cross_entropy", "softmax_cross_entropy", make_softmax_cross_entropy, "loss_averaged_over_time"),
    ("softmax_cross_entropy", "softmax_cross_entropy", make_softmax_cross_entropy, "loss_not_averaged_over_batch"),
    ("softmax_cross_entropy", "softmax_cross_entropy", make_softmax_cross_entropy, "no_max_shift"),
    ("rnn_backward", "rnn_backward", make_rnn_backward, "no_recurrent_term"),
    ("rnn_backward", "rnn_backward", make_rnn_backward, "tanh_derivative_1_minus_h"),
    ("rnn_backward", "rnn_backward", make_rnn_backward, "W_times_h_t"),
    ("rnn_backward", "rnn_backward", make_rnn_backward, "b1_not_summed_over_time"),
    ("rnn_backward", "rnn_backward", make_rnn_backward, "b1_only_last_step"),
    ("rnn_backward", "rnn_backward", make_rnn_backward, "b2_not_summed_over_batch"),
    ("rnn_backward", "rnn_backward", make_rnn_backward, "b2_not_summed_over_time"),
]


@pytest.mark.parametrize("grade_id,name,factory,bug", WRONG, ids=[f"{w[0]}-{w[3]}" for w in WRONG])
def test_wrong_version_is_rejected(grade_id, name, factory, bug):
    with np.errstate(over="ignore", invalid="ignore"):  # the unshifted softmax overflows on purpose
        with pytest.raises(AssertionError):
            run_check(NB, grade_id, **definitions(**{name: factory(bug)}))


def test_backward_built_on_steps_passes_and_inherits_step_bugs():
    """An rnn_backward that calls rnn_step_backward passes with a correct step and fails with a wrong one."""
    run_check(NB, "rnn_backward", **definitions(rnn_backward=_backward_via_steps(make_step_backward())))
    for bug in ("tanh_derivative_1_minus_h", "W_times_h_t"):
        with pytest.raises(AssertionError):
            run_check(NB, "rnn_backward", **definitions(rnn_backward=_backward_via_steps(make_step_backward(bug))))


def _backward_via_steps(step_backward):
    """An rnn_backward that calls a given step backward, on make_rnn_forward's cache."""
    def rnn_backward(dO, cache):
        X, H, H_prev, p = cache["X"], cache["H"], cache["H_prev"], cache["params"]
        grads = {k: np.zeros_like(p[k]) for k in ("U", "W", "b1")}
        grads["V"], grads["b2"] = np.einsum("ntk,nth->kh", dO, H), dO.sum(axis=(0, 1))
        dh_next = np.zeros_like(H[:, 0])
        for t in reversed(range(dO.shape[1])):
            step_cache = {"x": X[:, t], "h_prev": H_prev[:, t], "h": H[:, t], "U": p["U"], "W": p["W"]}
            _, dh_next, dU, dW, db1 = step_backward(dO[:, t] @ p["V"] + dh_next, step_cache)
            grads["U"] += dU
            grads["W"] += dW
            grads["b1"] += db1
        grads["h0"] = dh_next
        return grads
    return rnn_backward
