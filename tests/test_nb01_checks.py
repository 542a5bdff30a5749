"""Notebook 01's check cells accept every correct answer and reject the typical wrong ones.

Each check cell runs on its own through ``labutils.notebook_code.run_check``. We show, for every exercise:

1. the notebook's solution passes;
2. three independently written correct families pass, each written differently from the solution:
   loops over the batch (``loops``), other vectorisations (column vectors, einsum, one-hot and
   log-sum-exp; ``vectorised``) and PyTorch with autograd inside the answer (``torch``). A family holds
   all five functions, because a forward pass and its backward pass share a cache of the student's
   own design;
3. each named mistake raises AssertionError, and a float32 forward pass is told to keep float64
   (the gradient checks need it; the docstrings say so);
4. (slow) the whole notebook, executed in FAST mode with a family substituted right after each
   solution cell, runs to the end: every experiment downstream of the exercises holds for any correct
   implementation, not only the solution's.
"""
import math

import matplotlib
import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import labutils
import labutils.config
from labutils.notebook_code import load_notebook, notebook_path, run_check

NB = "01_bptt"
GRADE_IDS = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "softmax_cross_entropy", "rnn_backward"]


@pytest.fixture(scope="module")
def solution():
    module = load_notebook(NB)
    return {name: getattr(module, name) for name in GRADE_IDS}


# ================================================================ family "loops" (with named bugs)
def make_step_forward(bug=None):
    """Row by row over the batch (the solution is vectorised)."""
    def rnn_step_forward(x_t, h_prev, U, W, b1):
        dtype = np.float32 if bug == "float32" else np.float64
        h_t = np.empty((x_t.shape[0], U.shape[0]), dtype=dtype)
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


def make_rnn_forward(bug=None):
    """Input projections for all steps at once, then the recurrence (the solution calls the step)."""
    def rnn_forward(X, h0, params):
        U, W, V, b1, b2 = (params[k] for k in ("U", "W", "V", "b1", "b2"))
        N, T, _ = X.shape
        inputs = np.einsum("ntd,hd->nth", X, U) + b1
        hs = np.zeros((N, T, W.shape[0]), dtype=np.float32 if bug == "float32" else np.float64)
        h = np.zeros_like(h0) if bug == "ignores_h0" else h0
        previous = []
        for t in range(T):
            previous.append(h)
            h = np.tanh(inputs[:, t] + (0.0 if bug == "no_recurrent_term" else h @ W.T))
            hs[:, t] = h
        hs_prev = np.stack(previous, axis=1)
        O = (hs_prev if bug == "output_from_previous_state" else hs) @ V.T + b2
        return hs, O, {"X": X, "hs": hs, "hs_prev": hs_prev, "params": params}
    return rnn_forward


def make_rnn_backward(bug=None):
    """Gradients w.r.t. z^(t) collected first, parameter sums by einsum afterwards."""
    def rnn_backward(dO, cache):
        X, hs, hs_prev, p = cache["X"], cache["hs"], cache["hs_prev"], cache["params"]
        N, T, _ = dO.shape
        delta = np.zeros_like(hs)
        recurrent = np.zeros_like(hs[:, 0])
        for t in range(T - 1, -1, -1):
            dh = dO[:, t] @ p["V"]
            if bug != "no_recurrent_term":
                dh = dh + recurrent
            local = (1 - hs[:, t]) if bug == "tanh_derivative_1_minus_h" else (1 - hs[:, t] ** 2)
            delta[:, t] = dh * local
            recurrent = delta[:, t] @ p["W"]
        grads = {
            "U": np.einsum("nth,ntd->hd", delta, X),
            "W": np.einsum("nth,ntj->hj", delta, hs if bug == "W_times_h_t" else hs_prev),
            "V": np.einsum("ntk,nth->kh", dO, hs),
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


def loops_family(**overrides):
    """Family ``loops``: a correct set of independent definitions, with some replaced."""
    defs = {"rnn_step_forward": make_step_forward(), "rnn_step_backward": make_step_backward(),
            "rnn_forward": make_rnn_forward(), "softmax_cross_entropy": make_softmax_cross_entropy(),
            "rnn_backward": make_rnn_backward()}
    defs.update(overrides)
    return defs


# ================================================================ family "vectorised"
def vec_step_forward(x_t, h_prev, U, W, b1):
    """Column vectors, as on the slides, transposed back to rows at the end."""
    h_t = np.tanh(U @ x_t.T + W @ h_prev.T + b1[:, None]).T
    return h_t, {"x": x_t, "h_prev": h_prev, "h": h_t, "U": U, "W": W}


def vec_step_backward(dh_t, cache):
    """einsum for every product."""
    delta = dh_t * (1 - cache["h"] ** 2)
    return (np.einsum("nh,hd->nd", delta, cache["U"]), np.einsum("nh,hj->nj", delta, cache["W"]),
            np.einsum("nh,nd->hd", delta, cache["x"]), np.einsum("nh,nj->hj", delta, cache["h_prev"]),
            np.einsum("nh->h", delta))


def vec_rnn_forward(X, h0, params):
    """Steps over the time axis moved to the front; states stacked at the end; outputs by einsum."""
    states, step_caches, h = [], [], h0
    for x_t in np.moveaxis(X, 1, 0):
        h, step_cache = vec_step_forward(x_t, h, params["U"], params["W"], params["b1"])
        states.append(h)
        step_caches.append(step_cache)
    hs = np.stack(states, axis=1)
    O = np.einsum("nth,kh->ntk", hs, params["V"]) + params["b2"]
    return hs, O, {"steps": step_caches, "hs": hs, "params": params}


def vec_softmax_cross_entropy(O, y):
    """One-hot targets and a log-sum-exp; returns a NumPy scalar, not a Python float."""
    N, T, K = O.shape
    top = O.max(axis=-1, keepdims=True)
    log_sum_exp = top + np.log(np.exp(O - top).sum(axis=-1, keepdims=True))
    one_hot = np.eye(K)[y]
    loss = np.sum(log_sum_exp[..., 0] - np.sum(O * one_hot, axis=-1)) / N
    return loss, (np.exp(O - log_sum_exp) - one_hot) / N


def vec_rnn_backward(dO, cache):
    """Calls the step backward; V and b2 by tensordot and reshape."""
    p, hs = cache["params"], cache["hs"]
    grads = {"U": 0.0, "W": 0.0, "b1": 0.0}
    dh_next = np.zeros_like(hs[:, 0])
    for t in range(dO.shape[1] - 1, -1, -1):
        _, dh_next, dU, dW, db1 = vec_step_backward(dO[:, t] @ p["V"] + dh_next, cache["steps"][t])
        grads = {"U": grads["U"] + dU, "W": grads["W"] + dW, "b1": grads["b1"] + db1}
    grads["V"] = np.tensordot(dO, hs, axes=([0, 1], [0, 1]))
    grads["b2"] = dO.reshape(-1, dO.shape[-1]).sum(axis=0)
    grads["h0"] = dh_next
    return grads


def vectorised_family():
    return {"rnn_step_forward": vec_step_forward, "rnn_step_backward": vec_step_backward,
            "rnn_forward": vec_rnn_forward, "softmax_cross_entropy": vec_softmax_cross_entropy,
            "rnn_backward": vec_rnn_backward}


# ================================================================ family "torch"
def _leaves(*arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def torch_step_forward(x_t, h_prev, U, W, b1):
    """torch.nn.functional.linear in float64; the cache keeps the raw inputs."""
    with torch.no_grad():
        as_t = torch.from_numpy
        h_t = torch.tanh(F.linear(as_t(x_t), as_t(U), as_t(b1)) + F.linear(as_t(h_prev), as_t(W)))
    return h_t.numpy(), (x_t, h_prev, U, W, b1)


def torch_step_backward(dh_t, cache):
    """Re-runs the step under autograd and asks for every gradient at once."""
    x_t, h_prev, U, W, b1 = leaves = _leaves(*cache)
    h_t = torch.tanh(x_t @ U.T + h_prev @ W.T + b1)
    return tuple(g.numpy() for g in torch.autograd.grad(h_t, leaves, grad_outputs=torch.from_numpy(dh_t)))


def torch_rnn_forward(X, h0, params):
    """A torch loop over time; the cache is just the inputs."""
    with torch.no_grad():
        p = {k: torch.from_numpy(v) for k, v in params.items()}
        h, states = torch.from_numpy(h0), []
        for x_t in torch.from_numpy(X).unbind(dim=1):
            h = torch.tanh(x_t @ p["U"].T + h @ p["W"].T + p["b1"])
            states.append(h)
        hs = torch.stack(states, dim=1)
        O = hs @ p["V"].T + p["b2"]
    return hs.numpy(), O.numpy(), (X, h0, params)


def torch_softmax_cross_entropy(O, y):
    """torch's cross_entropy and autograd."""
    N, T, K = O.shape
    (logits,) = _leaves(O)
    loss = F.cross_entropy(logits.reshape(-1, K), torch.from_numpy(np.asarray(y, dtype=np.int64)).reshape(-1),
                           reduction="sum") / N
    loss.backward()
    return loss.item(), logits.grad.numpy()


def torch_rnn_backward(dO, cache):
    """Re-runs the forward pass under autograd from the cached inputs."""
    X, h0, params = cache
    names = ["U", "W", "V", "b1", "b2", "h0"]
    leaves = dict(zip(names, _leaves(*(params[k] for k in names[:5]), h0)))
    h, states = leaves["h0"], []
    for x_t in torch.from_numpy(X).unbind(dim=1):
        h = torch.tanh(x_t @ leaves["U"].T + h @ leaves["W"].T + leaves["b1"])
        states.append(h)
    O = torch.stack(states, dim=1) @ leaves["V"].T + leaves["b2"]
    O.backward(torch.from_numpy(dO))
    return {k: v.grad.numpy() for k, v in leaves.items()}


def torch_family():
    return {"rnn_step_forward": torch_step_forward, "rnn_step_backward": torch_step_backward,
            "rnn_forward": torch_rnn_forward, "softmax_cross_entropy": torch_softmax_cross_entropy,
            "rnn_backward": torch_rnn_backward}


FAMILIES = {"loops": loops_family, "vectorised": vectorised_family, "torch": torch_family}


# ================================================================ tests
@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_solution_passes(solution, grade_id):
    run_check(NB, grade_id, **solution)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_correct_variant_passes(grade_id, family):
    run_check(NB, grade_id, **FAMILIES[family]())


WRONG = [
    ("rnn_step_forward", make_step_forward, "no_recurrent_term"),
    ("rnn_step_forward", make_step_forward, "W_transposed"),
    ("rnn_step_forward", make_step_forward, "no_bias"),
    ("rnn_step_forward", make_step_forward, "float32"),
    ("rnn_step_backward", make_step_backward, "tanh_derivative_1_minus_h"),
    ("rnn_step_backward", make_step_backward, "W_times_h_t"),
    ("rnn_step_backward", make_step_backward, "W_not_transposed"),
    ("rnn_step_backward", make_step_backward, "bias_not_summed_over_batch"),
    ("rnn_forward", make_rnn_forward, "no_recurrent_term"),
    ("rnn_forward", make_rnn_forward, "ignores_h0"),
    ("rnn_forward", make_rnn_forward, "output_from_previous_state"),
    ("rnn_forward", make_rnn_forward, "float32"),
    ("softmax_cross_entropy", make_softmax_cross_entropy, "gradient_without_batch_average"),
    ("softmax_cross_entropy", make_softmax_cross_entropy, "loss_averaged_over_time"),
    ("softmax_cross_entropy", make_softmax_cross_entropy, "loss_not_averaged_over_batch"),
    ("softmax_cross_entropy", make_softmax_cross_entropy, "no_max_shift"),
    ("rnn_backward", make_rnn_backward, "no_recurrent_term"),
    ("rnn_backward", make_rnn_backward, "tanh_derivative_1_minus_h"),
    ("rnn_backward", make_rnn_backward, "W_times_h_t"),
    ("rnn_backward", make_rnn_backward, "b1_not_summed_over_time"),
    ("rnn_backward", make_rnn_backward, "b1_only_last_step"),
    ("rnn_backward", make_rnn_backward, "b2_not_summed_over_batch"),
    ("rnn_backward", make_rnn_backward, "b2_not_summed_over_time"),
]


@pytest.mark.parametrize("grade_id,factory,bug", WRONG, ids=[f"{w[0]}-{w[2]}" for w in WRONG])
def test_wrong_version_is_rejected(grade_id, factory, bug):
    with np.errstate(over="ignore", invalid="ignore"):  # the unshifted softmax overflows on purpose
        with pytest.raises(AssertionError) as failure:
            run_check(NB, grade_id, **loops_family(**{grade_id: factory(bug)}))
    if bug == "float32":
        assert "float64" in str(failure.value), f"the dtype failure should say what to do: {failure.value}"


def test_backward_built_on_steps_passes_and_inherits_step_bugs():
    """An rnn_backward that calls rnn_step_backward passes with a correct step and fails with a wrong one."""
    run_check(NB, "rnn_backward", **loops_family(rnn_backward=_backward_via_steps(make_step_backward())))
    for bug in ("tanh_derivative_1_minus_h", "W_times_h_t"):
        with pytest.raises(AssertionError):
            run_check(NB, "rnn_backward", **loops_family(rnn_backward=_backward_via_steps(make_step_backward(bug))))


def _backward_via_steps(step_backward):
    """An rnn_backward that calls a given step backward, on make_rnn_forward's cache."""
    def rnn_backward(dO, cache):
        X, hs, hs_prev, p = cache["X"], cache["hs"], cache["hs_prev"], cache["params"]
        grads = {k: np.zeros_like(p[k]) for k in ("U", "W", "b1")}
        grads["V"], grads["b2"] = np.einsum("ntk,nth->kh", dO, hs), dO.sum(axis=(0, 1))
        dh_next = np.zeros_like(hs[:, 0])
        for t in reversed(range(dO.shape[1])):
            step_cache = {"x": X[:, t], "h_prev": hs_prev[:, t], "h": hs[:, t], "U": p["U"], "W": p["W"]}
            _, dh_next, dU, dW, db1 = step_backward(dO[:, t] @ p["V"] + dh_next, step_cache)
            grads["U"] += dU
            grads["W"] += dW
            grads["b1"] += db1
        grads["h0"] = dh_next
        return grads
    return rnn_backward


# ================================================================ the notebook downstream of the exercises
def execute_notebook_with(name: str, definitions: dict) -> dict:
    """Execute every code cell of notebook ``name`` in order, in one fresh namespace, replacing each
    exercise's solution by ``definitions[grade_id]`` right after its solution cell runs (so its check
    cell and every later cell use the replacement). Returns the final namespace.

    The caller sets FAST mode; figures go to the non-interactive Agg backend.
    """
    nb = nbformat.read(notebook_path(name), as_version=4)
    namespace = {"__name__": "__notebook__"}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        exec(compile(cell.source, f"{name}:cell {index}", "exec"), namespace)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta["grade_id"] in definitions:
            namespace[meta["grade_id"]] = definitions[meta["grade_id"]]
    return namespace


@pytest.fixture
def fast_mode(monkeypatch):
    """FAST mode for an in-process notebook run, whatever the environment says."""
    matplotlib.use("Agg")
    monkeypatch.setattr(labutils.config, "FAST", True)
    monkeypatch.setattr(labutils, "FAST", True)
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_notebook_runs_to_the_end_with_a_correct_variant(fast_mode, family):
    """Every section after the exercises (gradient proofs, truncation, training, dependence) holds with
    another correct implementation substituted for all five exercises."""
    definitions = FAMILIES[family]()
    namespace = execute_notebook_with(NB, definitions)   # raises the first failing assertion of any cell
    for grade_id in GRADE_IDS:
        assert namespace[grade_id] is definitions[grade_id], f"{grade_id} was not substituted"
