"""Metrics on top of scikit-learn: class accuracy, AUROC/AUPRC with bootstrap intervals, sensitivity
at a fixed specificity. (Metrics that are a notebook's exercise live in that notebook, not here.)"""
from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def accuracy(scores, targets) -> float:
    """Share of rows whose largest score is the target class. scores (N, K), targets (N,): tensors or arrays."""
    scores, targets = np.asarray(scores), np.asarray(targets)
    return float(np.mean(scores.argmax(axis=1) == targets))


def sensitivity_at_specificity(y_true, y_score, specificity: float = 0.95) -> float:
    """The highest sensitivity (true-positive rate) whose specificity is at least ``specificity``."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    allowed = fpr <= 1 - specificity + 1e-12
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def bootstrap_ci(metric: Callable, y_true, y_score, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """(estimate, low, high): the metric and its percentile bootstrap interval over resampled rows.

    Resamples that contain only one class are skipped (AUROC is undefined on them).
    """
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y_true), len(y_true))
        if len(np.unique(y_true[idx])) < 2:
            continue
        stats.append(metric(y_true[idx], y_score[idx]))
    low, high = np.percentile(stats, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(metric(y_true, y_score)), float(low), float(high)


def binary_report(y_true, y_score, n_boot: int = 500, seed: int = 0) -> dict[str, float]:
    """AUROC and AUPRC with 95 % bootstrap intervals, prevalence, and sensitivity at 95 % specificity."""
    auroc = bootstrap_ci(roc_auc_score, y_true, y_score, n_boot, seed=seed)
    auprc = bootstrap_ci(average_precision_score, y_true, y_score, n_boot, seed=seed)
    return {"auroc": auroc[0], "auroc_low": auroc[1], "auroc_high": auroc[2],
            "auprc": auprc[0], "auprc_low": auprc[1], "auprc_high": auprc[2],
            "prevalence": float(np.mean(y_true)),
            "sens_at_95spec": sensitivity_at_specificity(y_true, y_score, 0.95)}
