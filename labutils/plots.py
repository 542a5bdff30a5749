"""Figures with one consistent look: learning curves and confusion matrices."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def use_course_style() -> None:
    """Seaborn's whitegrid look, readable font sizes, figures sized for a notebook column."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.figsize": (7, 4), "figure.dpi": 90, "axes.titleweight": "bold"})


def learning_curves(history: pd.DataFrame, title: str = "Learning curves", ax=None):
    """Train/validation loss per epoch (left axis) and validation metrics (right axis)."""
    ax = ax or plt.subplots()[1]
    for col in ("train_loss", "val_loss"):
        if col in history:
            ax.plot(history["epoch"], history[col], marker="o", label=col.replace("_", " "))
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    metric_cols = [c for c in history.columns if c.startswith("val_") and c != "val_loss"]
    if metric_cols:
        right = ax.twinx()
        right.grid(False)
        for col in metric_cols:
            right.plot(history["epoch"], history[col], ls="--", marker="s", label=col.replace("_", " "))
        right.set_ylabel("validation metric")
        right.legend(loc="center right")
    best = history.attrs.get("best_epoch")
    if best:
        ax.axvline(best, color="grey", ls=":", label=f"best epoch ({best})")
    ax.legend(loc="upper right")
    return ax


def confusion_matrix(y_true, y_pred, labels: list[str], normalize: bool = True, title: str = "Confusion matrix", ax=None):
    """A seaborn heat map of the confusion matrix; rows are true classes (normalised to recall)."""
    import seaborn as sns
    from sklearn.metrics import confusion_matrix as sk_confusion

    cm = sk_confusion(y_true, y_pred, labels=np.arange(len(labels)), normalize="true" if normalize else None)
    ax = ax or plt.subplots(figsize=(5.5, 4.5))[1]
    sns.heatmap(cm, annot=True, fmt=".2f" if normalize else "d", cmap="Blues", xticklabels=labels,
                yticklabels=labels, vmin=0, vmax=1 if normalize else None, ax=ax, cbar=normalize)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    return ax
