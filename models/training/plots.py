"""The training curves: loss per epoch and the held-out verification figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.training.loop import EpochRecord


def plot_training(
    history: Sequence[EpochRecord], best_epoch: int, path: Path, threshold: float, title: str = ""
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (loss_ax, val_ax) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    trained = [r for r in history if r.train_loss is not None]
    loss_ax.plot(
        [r.epoch for r in trained], [r.train_loss for r in trained], "o-", label="train loss"
    )
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("mean loss per batch")
    loss_ax.set_title("Training loss")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend()
    scored = [(r.epoch, r.val) for r in history if r.val is not None]
    if scored:
        epochs = [epoch for epoch, _ in scored]
        val_ax.plot(
            epochs,
            [val["accuracy"] for _, val in scored],
            "o-",
            label=f"accuracy at threshold {threshold:g}",
        )
        best = [val["best_accuracy"] for _, val in scored]
        val_ax.plot(epochs, best, "s--", label="best accuracy")
        val_ax.plot(epochs, [val["roc_auc"] for _, val in scored], "^-", label="ROC AUC")
        val_ax.axvline(best_epoch, color="grey", ls=":", label=f"kept: epoch {best_epoch}")
        val_ax.legend(fontsize=8)
    else:
        val_ax.text(0.5, 0.5, "no held-out pairs to score", ha="center", transform=val_ax.transAxes)
    val_ax.set_xlabel("epoch (0: before training)")
    val_ax.set_ylabel("held-out verification")
    val_ax.set_title("Held-out identities")
    val_ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
