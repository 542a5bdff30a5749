"""Notebook 03's exercise checks accept correct answers and reject the wrong ones issue 5 lists.

For each exercise: (1) the notebook's own solution passes its check cell, (2) an independently
written correct variant passes, and (3) every listed mistake is rejected with an AssertionError:
swapped gate order, tanh and sigmoid swapped on a gate, the cell state updated with the old
candidate, the GRU's interpolation reversed, the reset gate applied before the recurrent product,
and a peephole on c_{t-1} for the output gate (plus a few more mistakes students make).
"""
from __future__ import annotations

import pytest
import torch

from labutils.exercises import load_exercises, run_check

NB = "03_lstm_gru"


@pytest.fixture(scope="module")
def solution():
    return load_exercises(NB)


# ----------------------------------------------------------------------------- LSTM variants
def sigmoid(a):
    return 1 / (1 + torch.exp(-a))


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


def lstm_cell_by_slices(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """Independent correct version: the slides' form W [h, x] + b, one gate at a time, explicit sigmoid."""
    H = h.shape[1]
    W = torch.cat([W_hh, W_ih], dim=1)  # acts on the concatenation [h_{t-1}, x_t]
    hx = torch.cat([h, x], dim=1)
    b = b_ih + b_hh

    def gate(k):
        return hx @ W[k * H:(k + 1) * H].T + b[k * H:(k + 1) * H]

    i, f, g_tilde, o = sigmoid(gate(0)), sigmoid(gate(1)), torch.tanh(gate(2)), sigmoid(gate(3))
    c_new = torch.addcmul(i * g_tilde, f, c)
    return o * torch.tanh(c_new), c_new


def lstm_forward_preallocated(X, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Independent correct version: fills a preallocated output tensor, uses the sliced cell."""
    N, T, _ = X.shape
    outputs = X.new_zeros(N, T, h0.shape[1])
    h, c = h0, c0
    for t in range(T):
        h, c = lstm_cell_by_slices(X[:, t], h, c, W_ih, W_hh, b_ih, b_hh)
        outputs[:, t] = h
    return outputs, (h, c)


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


def test_lstm_cell_check_accepts_the_solution(solution):
    run_check(NB, "lstm_cell", lstm_cell=solution.lstm_cell)


def test_lstm_cell_check_accepts_an_independent_version():
    run_check(NB, "lstm_cell", lstm_cell=lstm_cell_by_slices)


@pytest.mark.parametrize("mistake", list(WRONG_LSTM_CELLS))
def test_lstm_cell_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "lstm_cell", lstm_cell=WRONG_LSTM_CELLS[mistake])


def test_lstm_forward_check_accepts_the_solution(solution):
    run_check(NB, "lstm_forward", lstm_forward=solution.lstm_forward)


def test_lstm_forward_check_accepts_an_independent_version():
    run_check(NB, "lstm_forward", lstm_forward=lstm_forward_preallocated)


WRONG_LSTM_FORWARDS = {
    "cell state updated with the old candidate": lstm_forward_with(None, stale_candidate=True),
    "h not carried between steps": lstm_forward_with(lstm_cell_by_slices, carry_h=False),
    "outputs are the cell states": lstm_forward_with(lstm_cell_by_slices, return_cells=True),
    "a wrong cell inside (i and f swapped)": lstm_forward_with(make_lstm_cell(order="figo")),
}


@pytest.mark.parametrize("mistake", list(WRONG_LSTM_FORWARDS))
def test_lstm_forward_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "lstm_forward", lstm_forward=WRONG_LSTM_FORWARDS[mistake])


# ----------------------------------------------------------------------------- GRU variants
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


def gru_cell_unit_loop(x, h, W_ih, W_hh, b_ih, b_hh):
    """Independent correct version: one hidden unit at a time (row dot products)."""
    H = h.shape[1]
    columns = []
    for k in range(H):
        def pre(j):
            row = j * H + k
            return x @ W_ih[row] + b_ih[row], h @ W_hh[row] + b_hh[row]
        (xr, hr), (xz, hz), (xn, hn) = pre(0), pre(1), pre(2)
        r, z = sigmoid(xr + hr), sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        columns.append(n + z * (h[:, k] - n))
    return torch.stack(columns, dim=1)


WRONG_GRU_CELLS = {
    "interpolation reversed (z vs 1 - z)": make_gru_cell(reverse_interpolation=True),
    "reset gate applied before the recurrent product": make_gru_cell(reset="before"),
    "b_hn outside the reset gate": make_gru_cell(bias_hn_inside=False),
    "gate order z, r, n": make_gru_cell(order="zrn"),
    "sigmoid on the candidate n": make_gru_cell(acts={"n": torch.sigmoid}),
    "tanh on the update gate z": make_gru_cell(acts={"z": torch.tanh}),
}


def test_reference_gru_factory_is_correct_by_default():
    run_check(NB, "gru_cell", gru_cell=make_gru_cell())


def test_gru_cell_check_accepts_the_solution(solution):
    run_check(NB, "gru_cell", gru_cell=solution.gru_cell)


def test_gru_cell_check_accepts_an_independent_version():
    run_check(NB, "gru_cell", gru_cell=gru_cell_unit_loop)


@pytest.mark.parametrize("mistake", list(WRONG_GRU_CELLS))
def test_gru_cell_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "gru_cell", gru_cell=WRONG_GRU_CELLS[mistake])


# ----------------------------------------------------------------------------- peephole variants
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


def peephole_cell_via_sliced_lstm(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Independent correct version: peepholes added as biases of the i and f rows, o computed last."""
    H = h.shape[1]
    extra = torch.cat([w_ci * c, w_cf * c, torch.zeros_like(c), torch.zeros_like(c)], dim=1)  # (N, 4H)
    pre = x @ W_ih.T + h @ W_hh.T + b_ih + b_hh + extra
    i, f = sigmoid(pre[:, :H]), sigmoid(pre[:, H:2 * H])
    c_new = f * c + i * torch.tanh(pre[:, 2 * H:3 * H])
    o = sigmoid(pre[:, 3 * H:] + w_co * c_new)
    return o * torch.tanh(c_new), c_new


WRONG_PEEPHOLE_CELLS = {
    "output-gate peephole on c_{t-1}": make_peephole_cell(output_sees="old"),
    "input and forget peepholes swapped": make_peephole_cell(swap_input_forget=True),
    "peepholes ignored": make_peephole_cell(ignore_peepholes=True),
    "gate order f, i, g, o": make_peephole_cell(lstm_order="figo"),
}


def test_peephole_check_accepts_the_solution(solution):
    run_check(NB, "peephole_lstm_cell", peephole_lstm_cell=solution.peephole_lstm_cell)


def test_peephole_check_accepts_independent_versions():
    run_check(NB, "peephole_lstm_cell", peephole_lstm_cell=peephole_cell_via_sliced_lstm)
    run_check(NB, "peephole_lstm_cell", peephole_lstm_cell=make_peephole_cell())


@pytest.mark.parametrize("mistake", list(WRONG_PEEPHOLE_CELLS))
def test_peephole_check_rejects(mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "peephole_lstm_cell", peephole_lstm_cell=WRONG_PEEPHOLE_CELLS[mistake])


def test_output_peephole_mistake_is_caught_without_the_hidden_tests():
    """The student-visible part of the peephole check alone rejects the c_{t-1} output peephole."""
    import math

    import numpy as np

    from labutils.exercises import cell_source

    source = cell_source(NB, "peephole_lstm_cell-check")
    visible = source.split("### BEGIN HIDDEN TESTS")[0]
    namespace = {"np": np, "torch": torch, "nn": torch.nn, "F": torch.nn.functional, "math": math,
                 "peephole_lstm_cell": WRONG_PEEPHOLE_CELLS["output-gate peephole on c_{t-1}"]}
    with pytest.raises(AssertionError):
        exec(compile(visible, "peephole-visible", "exec"), namespace)
