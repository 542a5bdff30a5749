"""Notebook 03's exercise checks accept every correct answer and reject the usual mistakes.

For each exercise: (1) the notebook's own solution passes its check cell; (2) at least two correct
versions written differently pass too, among them one that computes in float32 (the checks feed
float64 and allow a relative error of 1e-5); (3) every listed mistake is rejected with an
AssertionError: swapped gate order, tanh and sigmoid swapped on a gate, the cell state updated with
the old candidate, the GRU's interpolation reversed, the reset gate applied before the recurrent
product, and a peephole on c_{t-1} for the output gate (plus a few more mistakes students make).
A slow test runs the notebook in FAST mode through section 5 (every section that uses the
exercises) with each set of correct versions substituted for the solutions.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from labutils.notebook_code import (cell_source, execute_with_solutions, load_notebook, run_check,
                                    variant_source)

NB = "03_lstm_gru"


@pytest.fixture(scope="module")
def solution():
    return load_notebook(NB)


# ----------------------------------------------------------------------------- correct LSTM versions
# Each is self-contained (torch only), so the slow test can paste its source into the notebook.
def lstm_cell_by_slices(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """The slides' form W [h, x] + b, one gate at a time, sigmoid written out, torch.addcmul."""
    H = h.shape[1]
    W = torch.cat([W_hh, W_ih], dim=1)  # acts on the concatenation [h_{t-1}, x_t]
    hx = torch.cat([h, x], dim=1)
    b = b_ih + b_hh

    def gate(k):
        return hx @ W[k * H:(k + 1) * H].T + b[k * H:(k + 1) * H]

    def sigmoid(a):
        return 1 / (1 + torch.exp(-a))

    i, f, g_tilde, o = sigmoid(gate(0)), sigmoid(gate(1)), torch.tanh(gate(2)), sigmoid(gate(3))
    c_new = torch.addcmul(i * g_tilde, f, c)
    return o * torch.tanh(c_new), c_new


def lstm_cell_float32(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """float32 arithmetic whatever the inputs, one (input, recurrent) weight pair per gate."""
    x, h, c = x.float(), h.float(), c.float()
    H = h.shape[1]

    def pre(k):
        rows = slice(k * H, (k + 1) * H)
        return x @ W_ih[rows].float().T + h @ W_hh[rows].float().T + b_ih[rows].float() + b_hh[rows].float()

    i, f, o = torch.sigmoid(pre(0)), torch.sigmoid(pre(1)), torch.sigmoid(pre(3))
    c_new = f * c + i * torch.tanh(pre(2))
    return o * torch.tanh(c_new), c_new


def lstm_forward_time_first(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Its own cell inline, a time-first loop, outputs stacked on axis 0 and transposed back."""
    H = h0.shape[1]
    h, c, outputs = h0, c0, []
    for x_t in X.transpose(0, 1):
        pre = torch.addmm(b_ih + b_hh, x_t, W_ih.T) + h @ W_hh.T
        i, f, g, o = pre[:, :H], pre[:, H:2 * H], pre[:, 2 * H:3 * H], pre[:, 3 * H:]
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs).transpose(0, 1), (h, c)


def lstm_forward_float32_buffer(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Outputs gathered in a preallocated buffer made without a dtype (so float32), gates by torch.split."""
    N, T, _ = X.shape
    H = h0.shape[1]
    outputs = torch.zeros(N, T, H)
    h, c = h0, c0
    for t in range(T):
        i, f, g, o = torch.split(X[:, t] @ W_ih.T + h @ W_hh.T + (b_ih + b_hh), H, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs[:, t] = h
    return outputs, (h, c)


# ----------------------------------------------------------------------------- wrong LSTM versions
def make_lstm_cell(order="ifgo", acts=None, output_from_old_cell=False):
    """An LSTM cell that reads the packed rows in ``order`` and applies ``acts`` (gate -> function).

    The correct cell is ``order="ifgo"`` with sigmoid on i, f, o and tanh on g.
    """
    acts = {"i": torch.sigmoid, "f": torch.sigmoid, "g": torch.tanh, "o": torch.sigmoid, **(acts or {})}

    def cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
        blocks = dict(zip(order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)))
        i, f, g, o = (acts[k](blocks[k]) for k in "ifgo")
        c_new = f * c + i * g
        return o * torch.tanh(c if output_from_old_cell else c_new), c_new

    return cell


def lstm_forward_with(cell, stale_candidate=False, carry_h=True, return_cells=False):
    """lstm_forward variants: the candidate of the PREVIOUS step, h not carried, or c_t stacked as output."""
    def forward(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
        h, c, g_old = h0, c0, torch.zeros_like(c0)
        outputs = []
        for t in range(X.shape[1]):
            x = X[:, t]
            h_in = h if carry_h else h0
            if stale_candidate:
                i, f, g, o = (x @ W_ih.T + b_ih + h_in @ W_hh.T + b_hh).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * g_old  # old candidate
                g_old = torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                h, c = cell(x, h_in, c, W_ih, W_hh, b_ih, b_hh)
            outputs.append(c if return_cells else h)
        return torch.stack(outputs, dim=1), (h, c)

    return forward


WRONG_LSTM_CELLS = {
    "gate order f, i, g, o (i and f swapped)": make_lstm_cell(order="figo"),
    "gate order i, f, o, g (g and o swapped)": make_lstm_cell(order="ifog"),
    "gate order i, g, f, o": make_lstm_cell(order="igfo"),
    "sigmoid on the candidate g, tanh on the output gate o": make_lstm_cell(acts={"g": torch.sigmoid, "o": torch.tanh}),
    "sigmoid on the candidate g": make_lstm_cell(acts={"g": torch.sigmoid}),
    "tanh on the forget gate f": make_lstm_cell(acts={"f": torch.tanh}),
    "tanh on the input gate i": make_lstm_cell(acts={"i": torch.tanh}),
    "h from the old cell state": make_lstm_cell(output_from_old_cell=True),
}

WRONG_LSTM_FORWARDS = {
    "cell state updated with the old candidate": lstm_forward_with(None, stale_candidate=True),
    "h not carried between steps": lstm_forward_with(lstm_cell_by_slices, carry_h=False),
    "outputs are the cell states": lstm_forward_with(lstm_cell_by_slices, return_cells=True),
    "a wrong cell inside (i and f swapped)": lstm_forward_with(make_lstm_cell(order="figo")),
}


def test_lstm_cell_check_accepts_the_solution(solution):
    run_check(NB, "lstm_cell", lstm_cell=solution.lstm_cell)


@pytest.mark.parametrize("version", [lstm_cell_by_slices, lstm_cell_float32, make_lstm_cell()],
                         ids=["by slices", "float32", "packed factory"])
def test_lstm_cell_check_accepts_other_correct_versions(version):
    run_check(NB, "lstm_cell", lstm_cell=version)


@pytest.mark.parametrize("mistake", list(WRONG_LSTM_CELLS))
def test_lstm_cell_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "lstm_cell", lstm_cell=WRONG_LSTM_CELLS[mistake])


def test_lstm_forward_check_accepts_the_solution(solution):
    run_check(NB, "lstm_forward", lstm_forward=solution.lstm_forward)


@pytest.mark.parametrize("version", [lstm_forward_time_first, lstm_forward_float32_buffer,
                                     lstm_forward_with(lstm_cell_float32)],
                         ids=["time first", "float32 buffer", "float32 cell inside"])
def test_lstm_forward_check_accepts_other_correct_versions(version):
    run_check(NB, "lstm_forward", lstm_forward=version)


@pytest.mark.parametrize("mistake", list(WRONG_LSTM_FORWARDS))
def test_lstm_forward_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "lstm_forward", lstm_forward=WRONG_LSTM_FORWARDS[mistake])


# ----------------------------------------------------------------------------- GRU versions
def gru_cell_unit_loop(x, h, W_ih, W_hh, b_ih, b_hh):
    """One hidden unit at a time (row dot products), the interpolation written as n + z (h - n)."""
    H = h.shape[1]
    columns = []
    for k in range(H):
        def pre(j):
            row = j * H + k
            return x @ W_ih[row] + b_ih[row], h @ W_hh[row] + b_hh[row]
        (xr, hr), (xz, hz), (xn, hn) = pre(0), pre(1), pre(2)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        columns.append(n + z * (h[:, k] - n))
    return torch.stack(columns, dim=1)


def gru_cell_float32(x, h, W_ih, W_hh, b_ih, b_hh):
    """float32 arithmetic, torch.split into separate gate weights, biases added gate by gate."""
    x, h = x.float(), h.float()
    H = h.shape[1]
    W_ir, W_iz, W_in = torch.split(W_ih.float(), H)
    W_hr, W_hz, W_hn = torch.split(W_hh.float(), H)
    b_ir, b_iz, b_in = torch.split(b_ih.float(), H)
    b_hr, b_hz, b_hn = torch.split(b_hh.float(), H)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return (1 - z) * n + z * h


def make_gru_cell(order="rzn", reset="after", bias_hn_inside=True, reverse_interpolation=False, acts=None):
    """A GRU cell with one of the listed mistakes switched on; the defaults give nn.GRU's cell."""
    acts = {"r": torch.sigmoid, "z": torch.sigmoid, "n": torch.tanh, **(acts or {})}

    def cell(x, h, W_ih, W_hh, b_ih, b_hh):
        H = h.shape[1]
        rows = {k: slice(j * H, (j + 1) * H) for j, k in enumerate(order)}
        gx = {k: x @ W_ih[rows[k]].T + b_ih[rows[k]] for k in "rzn"}
        gh = {k: h @ W_hh[rows[k]].T for k in "rzn"}
        r = acts["r"](gx["r"] + gh["r"] + b_hh[rows["r"]])
        z = acts["z"](gx["z"] + gh["z"] + b_hh[rows["z"]])
        b_hn = b_hh[rows["n"]]
        if reset == "before":  # Cho et al.: reset h before the recurrent product
            recurrent = (r * h) @ W_hh[rows["n"]].T + b_hn
        elif bias_hn_inside:
            recurrent = r * (gh["n"] + b_hn)
        else:
            recurrent = r * gh["n"] + b_hn
        n = acts["n"](gx["n"] + recurrent)
        return z * n + (1 - z) * h if reverse_interpolation else (1 - z) * n + z * h

    return cell


WRONG_GRU_CELLS = {
    "interpolation reversed (z vs 1 - z)": make_gru_cell(reverse_interpolation=True),
    "reset gate applied before the recurrent product": make_gru_cell(reset="before"),
    "b_hn outside the reset gate": make_gru_cell(bias_hn_inside=False),
    "gate order z, r, n": make_gru_cell(order="zrn"),
    "sigmoid on the candidate n": make_gru_cell(acts={"n": torch.sigmoid}),
    "tanh on the update gate z": make_gru_cell(acts={"z": torch.tanh}),
}


def test_gru_cell_check_accepts_the_solution(solution):
    run_check(NB, "gru_cell", gru_cell=solution.gru_cell)


@pytest.mark.parametrize("version", [gru_cell_unit_loop, gru_cell_float32, make_gru_cell()],
                         ids=["unit loop", "float32", "factory default"])
def test_gru_cell_check_accepts_other_correct_versions(version):
    run_check(NB, "gru_cell", gru_cell=version)


@pytest.mark.parametrize("mistake", list(WRONG_GRU_CELLS))
def test_gru_cell_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "gru_cell", gru_cell=WRONG_GRU_CELLS[mistake])


def test_reset_before_differs_for_one_unit_exactly_by_the_bias_term():
    """The text's claim: with H = 1 the two placements differ by (r - 1) * b_hn inside the tanh."""
    x, h = torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[0.5]], dtype=torch.float64)
    W_ih = torch.tensor([[0.0], [1.0], [0.5]], dtype=torch.float64)
    W_hh = torch.tensor([[0.0], [0.0], [2.0]], dtype=torch.float64)
    b_ih, b_hh = torch.zeros(3, dtype=torch.float64), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    after, before = make_gru_cell()(x, h, W_ih, W_hh, b_ih, b_hh), make_gru_cell(reset="before")(x, h, W_ih, W_hh, b_ih, b_hh)
    z, r = torch.sigmoid(torch.tensor(1.0, dtype=torch.float64)), 0.5
    n_after, n_before = (after - z * h) / (1 - z), (before - z * h) / (1 - z)
    torch.testing.assert_close(torch.atanh(n_after) - torch.atanh(n_before), torch.tensor([[(r - 1) * 1.0]], dtype=torch.float64))
    b_hh[2] = 0.0   # without the bias one unit cannot tell the placements apart
    torch.testing.assert_close(make_gru_cell()(x, h, W_ih, W_hh, b_ih, b_hh),
                               make_gru_cell(reset="before")(x, h, W_ih, W_hh, b_ih, b_hh))


# ----------------------------------------------------------------------------- peephole versions
def peephole_cell_via_sliced_lstm(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Peepholes added as extra pre-activations of the i and f rows, o computed last."""
    H = h.shape[1]
    extra = torch.cat([w_ci * c, w_cf * c, torch.zeros_like(c), torch.zeros_like(c)], dim=1)  # (N, 4H)
    pre = x @ W_ih.T + h @ W_hh.T + b_ih + b_hh + extra
    i, f = torch.sigmoid(pre[:, :H]), torch.sigmoid(pre[:, H:2 * H])
    c_new = f * c + i * torch.tanh(pre[:, 2 * H:3 * H])
    o = torch.sigmoid(pre[:, 3 * H:] + w_co * c_new)
    return o * torch.tanh(c_new), c_new


def peephole_cell_float32(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """float32 arithmetic, the peepholes as diagonal matrices."""
    x, h, c = x.float(), h.float(), c.float()
    a_i, a_f, a_g, a_o = torch.split(x @ W_ih.float().T + h @ W_hh.float().T + (b_ih + b_hh).float(), h.shape[1], dim=1)
    i = torch.sigmoid(a_i + c @ torch.diag(w_ci.float()))
    f = torch.sigmoid(a_f + c @ torch.diag(w_cf.float()))
    c_new = f * c + i * torch.tanh(a_g)
    o = torch.sigmoid(a_o + c_new @ torch.diag(w_co.float()))
    return o * torch.tanh(c_new), c_new


def make_peephole_cell(output_sees="new", swap_input_forget=False, ignore_peepholes=False, lstm_order="ifgo"):
    def cell(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
        blocks = dict(zip(lstm_order, (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)))
        if ignore_peepholes:
            w_ci, w_cf, w_co = (torch.zeros_like(w) for w in (w_ci, w_cf, w_co))
        if swap_input_forget:
            w_ci, w_cf = w_cf, w_ci
        i = torch.sigmoid(blocks["i"] + w_ci * c)
        f = torch.sigmoid(blocks["f"] + w_cf * c)
        c_new = f * c + i * torch.tanh(blocks["g"])
        o = torch.sigmoid(blocks["o"] + w_co * (c_new if output_sees == "new" else c))
        return o * torch.tanh(c_new), c_new

    return cell


WRONG_PEEPHOLE_CELLS = {
    "output-gate peephole on c_{t-1}": make_peephole_cell(output_sees="old"),
    "input and forget peepholes swapped": make_peephole_cell(swap_input_forget=True),
    "peepholes ignored": make_peephole_cell(ignore_peepholes=True),
    "gate order f, i, g, o": make_peephole_cell(lstm_order="figo"),
}


def test_peephole_check_accepts_the_solution(solution):
    run_check(NB, "peephole_lstm_cell", peephole_lstm_cell=solution.peephole_lstm_cell)


@pytest.mark.parametrize("version", [peephole_cell_via_sliced_lstm, peephole_cell_float32, make_peephole_cell()],
                         ids=["sliced", "float32", "factory default"])
def test_peephole_check_accepts_other_correct_versions(version):
    run_check(NB, "peephole_lstm_cell", peephole_lstm_cell=version)


@pytest.mark.parametrize("mistake", list(WRONG_PEEPHOLE_CELLS))
def test_peephole_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "peephole_lstm_cell", peephole_lstm_cell=WRONG_PEEPHOLE_CELLS[mistake])


def test_output_peephole_mistake_is_caught_without_the_hidden_tests():
    """The student-visible part of the peephole check alone rejects the c_{t-1} output peephole."""
    source = cell_source(NB, "peephole_lstm_cell-check")
    visible = source.split("### BEGIN HIDDEN TESTS")[0]
    namespace = {"np": np, "torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math,
                 "peephole_lstm_cell": WRONG_PEEPHOLE_CELLS["output-gate peephole on c_{t-1}"]}
    with pytest.raises(AssertionError):
        exec(compile(visible, "peephole-visible", "exec"), namespace)


# ----------------------------------------------------------------------------- library cells
def test_library_cells_load_and_agree_with_pytorch(solution):
    """What benchmarks/bench_cells.py imports: layer_weights, gru_forward; and the hand-wired latch."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 4, batch_first=True)
    X, h0 = torch.randn(2, 5, 3), torch.randn(2, 4)
    with torch.no_grad():
        out, h_T = solution.gru_forward(X, h0, *solution.layer_weights(gru))
        out_ref, h_ref = gru(X, h0[None])
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h_T, h_ref[0], rtol=1e-5, atol=1e-6)
    writes = torch.zeros(1, 8, 2)
    writes[0, 0] = torch.tensor([1.0, 1.0])     # write tanh(1) at step 1, nothing after
    cells = solution.trace_lstm(writes, solution.latch_weights(0.0))["c"][0, :, 0]
    np.testing.assert_allclose(cells, math.tanh(1.0) * 0.5 ** np.arange(8), rtol=1e-5)
    forget = solution.trace_lstm(writes, solution.latch_weights(20.0))["f"][0, 1:, 0]
    np.testing.assert_allclose(forget, 1.0, atol=1e-6)


# ----------------------------------------------------------------------------- the notebook downstream
VARIANTS = {  # two sets of correct versions, pasted into the solution cells
    "independent": {"lstm_cell": lstm_cell_by_slices, "lstm_forward": lstm_forward_time_first,
                    "gru_cell": gru_cell_unit_loop, "peephole_lstm_cell": peephole_cell_via_sliced_lstm},
    "float32": {"lstm_cell": lstm_cell_float32, "lstm_forward": lstm_forward_float32_buffer,
                "gru_cell": gru_cell_float32, "peephole_lstm_cell": peephole_cell_float32},
}


@pytest.mark.slow
@pytest.mark.parametrize("which", list(VARIANTS))
def test_notebook_runs_with_correct_versions(which):
    """Every exercise replaced by a correct version written differently, the notebook runs in FAST mode
    through section 5, the last section that uses the exercises: every assertion downstream holds."""
    sources = {grade_id: variant_source(grade_id, fn) for grade_id, fn in VARIANTS[which].items()}
    execute_with_solutions(NB, sources, until="## 6.")
