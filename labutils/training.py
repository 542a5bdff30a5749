"""A small, readable training loop for PyTorch models.

A batch from a DataLoader is a tuple ``(input_1, ..., input_k, target)``: the inputs go to
``model(*inputs)`` and the loss is ``loss_fn(output, target)``. So ``(x, y)`` and
``(x, lengths, y)`` both work.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Callable

import pandas as pd
import torch

from .config import FAST


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during training."""


def _to_device(batch, device):
    return [b.to(device) if torch.is_tensor(b) else b for b in batch]


def _split(batch):
    batch = list(batch)
    return batch[:-1], batch[-1]


@torch.no_grad()
def predict(model: torch.nn.Module, loader, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` over ``loader`` in eval mode; return (outputs, targets) concatenated on the CPU."""
    device = device or next(model.parameters()).device
    model.eval()
    outputs, targets = [], []
    for batch in loader:
        inputs, target = _split(_to_device(batch, device))
        outputs.append(model(*inputs).cpu())
        targets.append(target.cpu())
    return torch.cat(outputs), torch.cat(targets)


def _check_finite(loss: torch.Tensor, epoch: int, batch: int, lr: float | None) -> None:
    if not torch.isfinite(loss):
        raise NonFiniteLossError(
            f"the training loss became {loss.item()} at epoch {epoch}, batch {batch}. "
            f"Fix: lower the learning rate (now {lr}), clip gradients (fit(..., clip_norm=1.0)), "
            "or look for NaN/inf in the inputs of that batch.")


def _learning_rate(optimizer) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    return groups[0].get("lr") if groups else None


def train_epoch(model, loader, loss_fn, optimizer, device, epoch: int = 1,
                clip_norm: float | None = None) -> dict:
    """One pass over ``loader``; returns the mean loss and the largest gradient norm seen."""
    model.train()
    total, count, max_grad = 0.0, 0, 0.0
    for b, batch in enumerate(loader, start=1):
        inputs, target = _split(_to_device(batch, device))
        optimizer.zero_grad()
        loss = loss_fn(model(*inputs), target)
        _check_finite(loss, epoch, b, _learning_rate(optimizer))
        loss.backward()
        # clip_grad_norm_ with max_norm=inf only measures: the gradient norm is worth logging.
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm or math.inf)
        max_grad = max(max_grad, float(norm))
        optimizer.step()
        n = len(target)
        total += loss.item() * n
        count += n
    return {"train_loss": total / max(count, 1), "max_grad_norm": max_grad}


def evaluate(model, loader, loss_fn, metrics: dict[str, Callable] | None = None, device=None) -> dict:
    """Loss and metrics of ``model`` on ``loader``. A metric is ``f(outputs, targets) -> float``."""
    outputs, targets = predict(model, loader, device)
    row = {"val_loss": float(loss_fn(outputs, targets))}
    for name, metric in (metrics or {}).items():
        row[f"val_{name}"] = float(metric(outputs, targets))
    return row


def fit(model: torch.nn.Module, train_loader, loss_fn: Callable, optimizer: torch.optim.Optimizer,
        epochs: int, val_loader=None, metrics: dict[str, Callable] | None = None,
        monitor: str | None = None, mode: str = "max", patience: int | None = None,
        clip_norm: float | None = None, device=None, progress: bool | None = None,
        restore_best: bool = True) -> pd.DataFrame:
    """Train ``model`` and return its history, one row per epoch.

    Args:
        metrics: name → ``f(outputs, targets)`` computed on the validation set each epoch.
        monitor: the history column that picks the best epoch (default: the first metric, else
            ``val_loss``); ``mode`` says whether larger ("max") or smaller ("min") is better.
        patience: stop after this many epochs without improvement (early stopping).
        clip_norm: clip the global gradient norm to this value before each step.
        restore_best: load the weights of the best epoch at the end (needs ``val_loader``).
        progress: show a tqdm progress bar (default: on in full mode, off in FAST mode).

    Raises ``NonFiniteLossError`` naming the epoch and batch when the loss becomes NaN/inf.
    """
    from tqdm.auto import tqdm

    device = device or next(model.parameters()).device
    if monitor is None:
        monitor = f"val_{next(iter(metrics))}" if metrics else "val_loss"
        mode = mode if metrics else "min"
    better = (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)
    best_value, best_state, best_epoch, waited = None, None, 0, 0
    rows = []
    bar = tqdm(range(1, epochs + 1), desc="epochs", disable=FAST if progress is None else not progress)
    for epoch in bar:
        start = time.perf_counter()
        row = {"epoch": epoch, **train_epoch(model, train_loader, loss_fn, optimizer, device, epoch, clip_norm)}
        if val_loader is not None:
            row.update(evaluate(model, val_loader, loss_fn, metrics, device))
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k.endswith(("loss", monitor))})
        if val_loader is None:
            continue
        value = row[monitor]
        if best_value is None or better(value, best_value):
            best_value, best_epoch, waited = value, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if patience is not None and waited >= patience:
                break
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    history = pd.DataFrame(rows)
    history.attrs.update(best_epoch=best_epoch, monitor=monitor, best_value=best_value)
    return history
