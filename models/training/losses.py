"""The metric losses and triplet miners, from pytorch-metric-learning (the `train` extra).

pytorch-metric-learning is imported only here, on demand: the rest of the package, and the
`rollcall` help, work without it.
"""

from __future__ import annotations

from types import ModuleType

import torch
from torch import nn

from models.training.config import LOSSES, MINERS


class MissingTrainExtraError(RuntimeError):
    """pytorch-metric-learning (the `train` extra) is not installed."""


def import_metric_learning() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """(distances, losses, miners, reducers) of pytorch-metric-learning, imported on demand."""
    try:
        from pytorch_metric_learning import distances, losses, miners, reducers
    except ImportError as exc:
        raise MissingTrainExtraError(
            "Training needs pytorch-metric-learning, which is not installed. "
            "Install the train extra from the checkout (Rollcall is not on PyPI): "
            ".venv/bin/pip install -e '.[train]'"
        ) from exc
    return distances, losses, miners, reducers


def embedding_distance() -> nn.Module:
    """Plain euclidean distance, as the service compares embeddings.

    pml's LpDistance L2-normalises by default; `SiameseNetwork.embed` already normalises where
    the backbone expects it, and dlib's raw descriptors must stay raw.
    """
    distances, _, _, _ = import_metric_learning()
    return distances.LpDistance(normalize_embeddings=False, p=2, power=1)


def build_loss(kind: str, margin: float) -> nn.Module:
    """The textbook losses, averaged over every pair/triplet (not pml's non-zero average).

    contrastive: y * d^2 + (1 - y) * max(0, m - d)^2 per pair, reported as the mean over
        positive pairs plus the mean over negative pairs (pml reduces the two separately, which
        also keeps the many negatives of a P-K batch from drowning the few positives).
    triplet: max(0, d(a, p) - d(a, n) + m) per triplet, averaged over the triplets.
    """
    _, losses, _, reducers = import_metric_learning()
    if kind == "contrastive":
        # name-defined: `losses` is the module import_metric_learning() returns, a value here.
        class SquaredContrastiveLoss(losses.ContrastiveLoss):  # type: ignore[name-defined]
            # pml's hinge terms are relu(d - 0) and relu(m - d); the textbook squares both.
            def pos_calc(self, pos_pair_dist: torch.Tensor, margin: float) -> torch.Tensor:
                return super().pos_calc(pos_pair_dist, margin) ** 2

            def neg_calc(self, neg_pair_dist: torch.Tensor, margin: float) -> torch.Tensor:
                return super().neg_calc(neg_pair_dist, margin) ** 2

        return SquaredContrastiveLoss(
            pos_margin=0.0,
            neg_margin=margin,
            distance=embedding_distance(),
            reducer=reducers.MeanReducer(),
        )
    if kind == "triplet":
        return losses.TripletMarginLoss(
            margin=margin, distance=embedding_distance(), reducer=reducers.MeanReducer()
        )
    raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")


def build_miner(kind: str, margin: float) -> nn.Module:
    """batch-hard: per anchor, its farthest positive and nearest negative in the batch.
    semi-hard: every triplet with d(a, p) < d(a, n) <= d(a, p) + margin."""
    _, _, miners, _ = import_metric_learning()
    if kind == "batch-hard":
        return miners.BatchHardMiner(distance=embedding_distance())
    if kind == "semi-hard":
        return miners.TripletMarginMiner(
            margin=margin, type_of_triplets="semihard", distance=embedding_distance()
        )
    raise ValueError(f"unknown miner {kind!r}; choose one of {', '.join(MINERS)}")


def default_margin(loss: str, threshold: float) -> float:
    """Margins in the backbone's distance units: dlib's threshold is 0.6, facenet's 1.0.

    contrastive pushes impostors beyond the decision threshold itself; triplet asks for a gap
    of a fifth of it (FaceNet's 0.2 on unit-length embeddings).
    """
    return threshold if loss == "contrastive" else 0.2 * threshold
