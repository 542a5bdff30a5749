import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from labutils.training import NonFiniteLossError, fit, predict


def toy_loaders(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    train = DataLoader(TensorDataset(x[:192], y[:192]), batch_size=32, shuffle=True, generator=g)
    val = DataLoader(TensorDataset(x[192:], y[192:]), batch_size=64)
    return train, val


def accuracy(outputs, targets):
    return (outputs.argmax(1) == targets).float().mean().item()


def test_fit_learns_and_returns_history():
    torch.manual_seed(0)
    train, val = toy_loaders()
    model = torch.nn.Linear(4, 2)
    history = fit(model, train, torch.nn.functional.cross_entropy, torch.optim.Adam(model.parameters(), 0.05),
                  epochs=15, val_loader=val, metrics={"acc": accuracy}, clip_norm=1.0)
    assert isinstance(history, pd.DataFrame)
    assert {"epoch", "train_loss", "val_loss", "val_acc", "max_grad_norm"} <= set(history.columns)
    assert history["val_acc"].max() > 0.9
    # the best weights are restored
    outputs, targets = predict(model, val)
    assert accuracy(outputs, targets) == pytest.approx(history["val_acc"].max())
    assert history.attrs["best_epoch"] == int(history.loc[history["val_acc"].idxmax(), "epoch"])


def test_fit_clips_gradients():
    torch.manual_seed(0)
    train, _ = toy_loaders()
    model = torch.nn.Linear(4, 2)
    model.weight.data *= 1000
    seen = []
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    original = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *a, **k):
        norm = original(params, max_norm, *a, **k)
        seen.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item())
        return norm

    torch.nn.utils.clip_grad_norm_ = spy
    try:
        fit(model, train, torch.nn.functional.cross_entropy, opt, epochs=1, clip_norm=0.5)
    finally:
        torch.nn.utils.clip_grad_norm_ = original
    assert max(seen) <= 0.5 + 1e-5


def test_early_stopping_stops():
    torch.manual_seed(0)
    train, val = toy_loaders()
    model = torch.nn.Linear(4, 2)
    history = fit(model, train, torch.nn.functional.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.0),
                  epochs=20, val_loader=val, patience=2)
    assert len(history) == 3  # no improvement after epoch 1 with lr = 0


def test_nan_loss_names_epoch_and_batch():
    train, _ = toy_loaders()
    model = torch.nn.Linear(4, 2)

    def loss_fn(out, y):
        return torch.nn.functional.cross_entropy(out, y) * float("nan")

    with pytest.raises(NonFiniteLossError, match=r"became nan at epoch 1, batch 1.*learning rate"):
        fit(model, train, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1)


def test_several_inputs_per_batch():
    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x, scale):
            return self.lin(x) * scale[:, None]

    x, s, y = torch.randn(64, 4), torch.ones(64), torch.randint(0, 2, (64,))
    loader = DataLoader(TensorDataset(x, s, y), batch_size=16)
    model = TwoInputs()
    history = fit(model, loader, torch.nn.functional.cross_entropy,
                  torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, val_loader=loader)
    assert len(history) == 2
