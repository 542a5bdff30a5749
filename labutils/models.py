"""A small recurrent classifier shared by notebooks 02 and 03 (the long-lag memory task).

Infrastructure, not an exercise: the notebooks build the cells themselves from scratch; this is the
PyTorch model they train once the idea is understood.
"""
from __future__ import annotations

import torch
from torch import nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class SequenceClassifier(nn.Module):
    """A one-layer RNN/LSTM/GRU read out from its last hidden state (many-to-one).

    Input ``x`` is batch-first ``(N, T, n_inputs)``; the output is class scores (logits) of shape
    ``(N, n_classes)``, made by a linear layer from ``h^(T)``. Every sequence of a batch has the same
    length T here; reading out variable-length sequences at their own last step is an exercise of
    notebook 05, so it is not done for you.

    ``cell="rnn"`` is the vanilla tanh RNN of the lecture (``nonlinearity="relu"`` is passed on).
    """

    def __init__(self, cell: str, n_inputs: int, n_hidden: int, n_classes: int, **rnn_kwargs):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell={cell!r} is not one of {sorted(CELLS)}; "
                             "use 'rnn' (vanilla tanh RNN), 'lstm' or 'gru'.")
        if rnn_kwargs.get("nonlinearity") and cell != "rnn":
            raise ValueError(f"nonlinearity= applies to cell='rnn' only, not {cell!r}.")
        self.cell = cell
        self.rnn = CELLS[cell](n_inputs, n_hidden, batch_first=True, **rnn_kwargs)
        self.readout = nn.Linear(n_hidden * (2 if self.rnn.bidirectional else 1), n_classes)

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """All hidden states ``h^(1..T)``, shape (N, T, n_hidden)."""
        return self.rnn(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"expected x of shape (N, T, n_inputs), got {tuple(x.shape)}")
        return self.readout(self.hidden_states(x)[:, -1])


def set_lstm_gate_biases(lstm: nn.LSTM, forget: float, input: float = 0.0) -> nn.LSTM:
    """Start an LSTM with chosen forget- and input-gate biases (all layers, in place).

    PyTorch packs the gates as (i, f, g, o) and adds two biases, ``bias_ih`` and ``bias_hh``; the
    value goes into ``bias_ih`` and the ``bias_hh`` part is zeroed so the sum is exactly the value.
    A forget bias b keeps ``f ≈ sigmoid(b)`` at the start, a memory time constant of about
    ``1 / (1 − sigmoid(b))`` steps (b = 5: about 150 steps); a negative input bias keeps the input
    gate mostly closed until it learns when to open (Gers et al. 2000; Tallec & Ollivier 2018).
    """
    n = lstm.hidden_size
    with torch.no_grad():
        for name, bias in lstm.named_parameters():
            if name.startswith("bias_ih"):
                bias[0:n], bias[n:2 * n] = input, forget
            elif name.startswith("bias_hh"):
                bias[0:2 * n] = 0.0
    return lstm
