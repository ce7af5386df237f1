"""The evaluation's plots: the ROC (linear and log FAR) and the distance histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.evaluation.metrics import (
    FAR_TARGETS,
    RocCurve,
    VerificationMetrics,
    split_genuine_impostor,
)


def plot_roc(roc: RocCurve, metrics: VerificationMetrics, path: Path) -> None:
    """Linear ROC, and the same with a log FAR axis where the TAR@FAR targets can be read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    impostors = int(metrics["impostor_pairs"])
    # FAR 0 cannot sit on a log axis: it is drawn left of both the first step and the targets.
    floor = 0.5 * min(1.0 / impostors, *FAR_TARGETS)
    fig, (linear, log) = plt.subplots(1, 2, figsize=(12, 5.2), dpi=110)
    point = (
        f"threshold {metrics['threshold']:.3f}: TAR {metrics['tar']:.1%}, FAR {metrics['far']:.2%}"
    )
    for ax, far in ((linear, roc.far), (log, np.maximum(roc.far, floor))):
        ax.step(far, roc.tar, where="post", lw=2, label=f"ROC (AUC = {metrics['roc_auc']:.4f})")
        ax.plot([max(metrics["far"], floor if ax is log else 0.0)], [metrics["tar"]], "o",
                color="crimson", ms=9, label=point)  # fmt: skip
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(f"true accept rate (of {metrics['genuine_pairs']} genuine pairs)")
        ax.grid(alpha=0.3)
    linear.plot([0, 1], [0, 1], ls=":", color="grey", label="chance")
    linear.plot([metrics["eer"]], [1 - metrics["eer"]], "s", color="darkorange", ms=7,
                label=f"EER {metrics['eer']:.2%}")  # fmt: skip
    linear.set_xlim(-0.02, 1.02)
    linear.set_xlabel(f"false accept rate (of {impostors} impostor pairs)")
    linear.set_title("Verification ROC")
    linear.legend(loc="lower right", fontsize=8)
    log.set_xscale("log")
    log.set_xlim(floor * 0.8, 1.05)
    for row in metrics["tar_at_far"]:
        log.axvline(row["far_target"], color="grey", ls="--", lw=1)
        log.annotate(f"FAR {row['far_target']:.0e}\nTAR {row['tar']:.1%}",
                     (row["far_target"], 0.05), fontsize=8, ha="right")  # fmt: skip
    log.axvspan(floor * 0.8, 1.0 / impostors, color="grey", alpha=0.15,
                label=f"below 1/{impostors}: not measurable")  # fmt: skip
    log.set_xlabel("false accept rate (log scale; FAR 0 drawn at the left edge)")
    log.set_title("ROC, low-FAR region")
    log.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_distances(
    distances: np.ndarray, same: np.ndarray, metrics: VerificationMetrics, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    genuine, impostor = split_genuine_impostor(distances, same)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    low, high = min(genuine.min(), impostor.min()), max(genuine.max(), impostor.max())
    bins = np.linspace(low, max(high, low + 1e-6), 40).tolist()
    # Each histogram sums to 1: impostor pairs far outnumber genuine ones.
    for values, colour, name in (
        (genuine, "tab:green", "genuine"),
        (impostor, "tab:red", "impostor"),
    ):
        ax.hist(
            values,
            bins=bins,
            weights=np.full(len(values), 1 / len(values)),
            alpha=0.55,
            color=colour,
            edgecolor=colour,
            label=f"{name} pairs (n={len(values)})",
        )
    ax.axvline(
        metrics["threshold"], color="black", lw=2, label=f"threshold {metrics['threshold']:.3f}"
    )
    if abs(metrics["best_threshold"] - metrics["threshold"]) > 1e-9:
        ax.axvline(
            metrics["best_threshold"],
            color="black",
            ls="--",
            lw=1.2,
            label=f"best-accuracy threshold {metrics['best_threshold']:.3f}",
        )
    ax.set_xlabel("distance between the two photos' embeddings (below the threshold: same person)")
    ax.set_ylabel("share of pairs")
    ax.set_title("Genuine vs impostor distances")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
