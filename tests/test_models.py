"""labutils.models.SequenceClassifier: shapes, last-step readout, bad input."""
import pytest
import torch

from labutils.models import SequenceClassifier


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_shapes_and_last_state_readout(cell):
    torch.manual_seed(0)
    model = SequenceClassifier(cell, n_inputs=3, n_hidden=5, n_classes=4)
    x = torch.randn(2, 7, 3)
    logits = model(x)
    assert logits.shape == (2, 4)
    # The output depends on the last hidden state only: recompute it by hand.
    expected = model.readout(model.hidden_states(x)[:, -1])
    torch.testing.assert_close(logits, expected)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="cell='transformer'"):
        SequenceClassifier("transformer", 3, 5, 2)
    with pytest.raises(ValueError, match=r"\(N, T, n_inputs\)"):
        SequenceClassifier("rnn", 3, 5, 2)(torch.randn(6, 3))


def test_lstm_gate_biases_set_the_gates():
    from labutils.models import set_lstm_gate_biases

    model = SequenceClassifier("lstm", 3, 4, 2)
    set_lstm_gate_biases(model.rnn, forget=5.0, input=-2.0)
    total = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    assert torch.allclose(total[0:4], torch.full((4,), -2.0))   # i
    assert torch.allclose(total[4:8], torch.full((4,), 5.0))    # f
    # With zero weights the forget gate is exactly sigmoid(5).
    with torch.no_grad():
        model.rnn.weight_ih_l0.zero_()
        model.rnn.weight_hh_l0.zero_()
    x = torch.zeros(1, 1, 3)
    cell_prev = torch.ones(1, 1, 4)
    _, (_, c) = model.rnn(x, (torch.zeros(1, 1, 4), cell_prev))
    g = torch.tanh(total[8:12])
    expected = torch.sigmoid(torch.tensor(5.0)) * 1 + torch.sigmoid(torch.tensor(-2.0)) * g
    torch.testing.assert_close(c[0, 0], expected)
