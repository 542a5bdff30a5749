"""A small, readable training loop for PyTorch models.

Two kinds of batch, so that simple models stay simple and sequence models need no packing tricks:

- a **tuple** ``(input_1, ..., input_k, target)`` (what ``TensorDataset`` gives): the model is called
  as ``model(input_1, ..., input_k)`` and the loss as ``loss_fn(output, target)``, as in any PyTorch
  tutorial; validation metrics ``f(outputs, targets)`` see the whole validation set at once.
- a **dict** of named tensors (inputs, targets, masks, times…), for sequence models with several
  heads: ``fit(..., inputs=("x", "lengths"))`` names the keys the model takes, in order. The loss is
  ``loss_fn(batch, output)``: it reads the targets and masks it needs from the batch, so the model may
  return anything (a tensor, a tuple of heads, a dict). Validation metrics are computed batch by
  batch, ``f(batch, output)``, and returned either as a float (averaged over batches, weighted by their
  size) or as ``(total, count)`` (summed over batches, then divided), so ragged batches are never
  concatenated.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from typing import Callable, Sequence

import pandas as pd
import torch

from .config import FAST


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during training."""


def to_device(batch, device):
    """The batch (tuple or dict) with every tensor moved to ``device``."""
    if isinstance(batch, Mapping):
        return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    return [b.to(device) if torch.is_tensor(b) else b for b in batch]


def _to_cpu(output):
    if torch.is_tensor(output):
        return output.detach().cpu()
    if isinstance(output, Mapping):
        return {k: _to_cpu(v) for k, v in output.items()}
    if isinstance(output, (tuple, list)):
        return type(output)(_to_cpu(v) for v in output)
    return output


def batch_size(batch) -> int:
    """Number of examples in a batch: the length of its first tensor."""
    values = batch.values() if isinstance(batch, Mapping) else batch
    return next(len(v) for v in values if torch.is_tensor(v))


def _check_inputs(batch, inputs):
    if isinstance(batch, Mapping) and inputs is None:
        raise TypeError(f"the loader yields dict batches (keys {sorted(batch)}); tell fit which keys the "
                        "model takes, in order: fit(..., inputs=('x', 'lengths'))")


def forward_loss(model, batch, loss_fn: Callable, inputs: Sequence[str] | None = None):
    """Run ``model`` on one batch; return ``(loss, output)`` under either batch contract."""
    _check_inputs(batch, inputs)
    if isinstance(batch, Mapping):
        output = model(*(batch[k] for k in inputs))
        return loss_fn(batch, output), output
    *xs, target = batch
    output = model(*xs)
    return loss_fn(output, target), output


@torch.no_grad()
def predict(model: torch.nn.Module, loader, device=None, inputs: Sequence[str] | None = None):
    """Run ``model`` over ``loader`` in eval mode, results on the CPU.

    Tuple batches: returns ``(outputs, targets)``, each concatenated over the batches.
    Dict batches: returns a list of ``(batch, output)`` pairs, in loader order.
    """
    device = device or next(model.parameters()).device
    model.eval()
    pairs = []
    for batch in loader:
        _check_inputs(batch, inputs)
        on_device = to_device(batch, device)
        if isinstance(batch, Mapping):
            pairs.append((batch, _to_cpu(model(*(on_device[k] for k in inputs)))))
        else:
            pairs.append((batch[-1], _to_cpu(model(*on_device[:-1]))))
    if pairs and isinstance(pairs[0][0], Mapping):
        return pairs
    return torch.cat([o for _, o in pairs]), torch.cat([t for t, _ in pairs])


def _check_finite(loss: torch.Tensor, epoch: int, batch: int, lr: float | None) -> None:
    if not torch.isfinite(loss):
        raise NonFiniteLossError(
            f"the training loss became {loss.item()} at epoch {epoch}, batch {batch}. "
            f"Fix: lower the learning rate (now {lr}), clip gradients (fit(..., clip_norm=1.0)), "
            "or look for NaN/inf in the inputs of that batch.")


def _learning_rate(optimizer) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    return groups[0].get("lr") if groups else None


def train_epoch(model, loader, loss_fn, optimizer, device, epoch: int = 1, clip_norm: float | None = None,
                inputs: Sequence[str] | None = None, scheduler=None) -> dict:
    """One pass over ``loader``; returns the mean loss and the largest gradient norm seen.

    ``scheduler`` (optional) is stepped after every batch, as one-cycle and cosine schedules expect.
    """
    model.train()
    total, count, max_grad = 0.0, 0, 0.0
    for b, batch in enumerate(loader, start=1):
        batch = to_device(batch, device)
        optimizer.zero_grad()
        loss, _ = forward_loss(model, batch, loss_fn, inputs)
        _check_finite(loss, epoch, b, _learning_rate(optimizer))
        loss.backward()
        # clip_grad_norm_ with max_norm=inf only measures: the gradient norm is worth logging.
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm or math.inf)
        max_grad = max(max_grad, float(norm))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = batch_size(batch)
        total += loss.item() * n
        count += n
    return {"train_loss": total / max(count, 1), "max_grad_norm": max_grad}


@torch.no_grad()
def evaluate(model, loader, loss_fn, metrics: dict[str, Callable] | None = None, device=None,
             inputs: Sequence[str] | None = None) -> dict:
    """Loss and metrics of ``model`` on ``loader`` (see the module docstring for the metric forms)."""
    device = device or next(model.parameters()).device
    model.eval()
    first = next(iter(loader))
    if not isinstance(first, Mapping):  # tuple batches: metrics see the whole set
        outputs, targets = predict(model, loader, device)
        row = {"val_loss": float(loss_fn(outputs.to(device), targets.to(device)))}
        row.update({f"val_{name}": float(f(outputs, targets)) for name, f in (metrics or {}).items()})
        return row
    sums = {name: [0.0, 0.0] for name in ["loss", *(metrics or {})]}
    for batch in loader:
        batch = to_device(batch, device)
        loss, output = forward_loss(model, batch, loss_fn, inputs)
        n = batch_size(batch)
        sums["loss"][0] += float(loss) * n
        sums["loss"][1] += n
        for name, f in (metrics or {}).items():
            value = f(batch, output)
            total, weight = value if isinstance(value, tuple) else (float(value) * n, n)
            sums[name][0] += float(total)
            sums[name][1] += float(weight)
    return {f"val_{name}": total / weight if weight else math.nan for name, (total, weight) in sums.items()}


def fit(model: torch.nn.Module, train_loader, loss_fn: Callable, optimizer: torch.optim.Optimizer,
        epochs: int, val_loader=None, metrics: dict[str, Callable] | None = None,
        monitor: str | None = None, mode: str = "max", patience: int | None = None,
        clip_norm: float | None = None, device=None, progress: bool | None = None,
        restore_best: bool = True, inputs: Sequence[str] | None = None, scheduler=None) -> pd.DataFrame:
    """Train ``model`` and return its history, one row per epoch.

    Args:
        loss_fn: ``loss_fn(output, target)`` for tuple batches, ``loss_fn(batch, output)`` for dict batches.
        metrics: name → metric computed on the validation set each epoch (forms: module docstring).
        monitor: the history column that picks the best epoch (default: the first metric, else
            ``val_loss``); ``mode`` says whether larger ("max") or smaller ("min") is better.
        patience: stop after this many epochs without improvement (early stopping).
        clip_norm: clip the global gradient norm to this value before each step.
        restore_best: load the weights of the best epoch at the end (needs ``val_loader``).
        progress: show a tqdm progress bar (default: on in full mode, off in FAST mode).
        inputs: for dict batches, the keys passed to the model, in order.
        scheduler: a learning-rate scheduler stepped after every batch.

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
        row = {"epoch": epoch, **train_epoch(model, train_loader, loss_fn, optimizer, device, epoch, clip_norm,
                                             inputs, scheduler)}
        if val_loader is not None:
            row.update(evaluate(model, val_loader, loss_fn, metrics, device, inputs))
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
