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


def ragged_dict_loader(seed=0):
    """Dict batches whose sequences have a different length in every batch (nothing to concatenate)."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for length in (3, 7, 5, 9):
        x = torch.randn(8, length, 2, generator=g)
        batches.append({"x": x, "mask": torch.ones(8, length, dtype=torch.bool), "y": (x.sum((1, 2)) > 0).float()})
    return batches


class SumHeads(torch.nn.Module):
    """Two heads returned separately, as a multi-task sequence model does."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)

    def forward(self, x, mask):
        per_step = self.lin(x).squeeze(-1) * mask
        return per_step.sum(1), per_step


def dict_loss(batch, output):
    logit, _ = output
    return torch.nn.functional.binary_cross_entropy_with_logits(logit, batch["y"])


def test_dict_batches_ragged_lengths_and_per_batch_metrics():
    torch.manual_seed(0)
    loader = ragged_dict_loader()
    model = SumHeads()
    metrics = {"acc": lambda b, o: ((o[0] > 0).float() == b["y"]).float().mean().item(),
               "hits": lambda b, o: (((o[0] > 0).float() == b["y"]).sum().item(), len(b["y"]))}
    history = fit(model, loader, dict_loss, torch.optim.Adam(model.parameters(), 0.1), epochs=30,
                  val_loader=loader, metrics=metrics, inputs=("x", "mask"))
    assert history["val_acc"].max() > 0.9
    # a float metric weighted by batch size equals the (total, count) form when batches are equal in size
    assert history["val_acc"].tolist() == pytest.approx(history["val_hits"].tolist())
    pairs = predict(model, loader, inputs=("x", "mask"))
    assert [b["x"].shape[1] for b, _ in pairs] == [3, 7, 5, 9]
    assert pairs[1][1][1].shape == (8, 7)


def test_dict_batches_need_input_names():
    model = SumHeads()
    with pytest.raises(TypeError, match="inputs="):
        fit(model, ragged_dict_loader(), dict_loss, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1)


def test_scheduler_steps_every_batch():
    train, _ = toy_loaders()
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2 * len(train))
    fit(model, train, torch.nn.functional.cross_entropy, opt, epochs=2, scheduler=sched)
    assert sched.last_epoch == 2 * len(train)
