"""Verification figures from pair distances: accuracy, ROC, AUC, EER, TAR at fixed FAR.

A pair is accepted as the same person when its distance is strictly below the threshold, as the
service decides. numpy only: the service's image installs no scikit-learn (see `roc_curve`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import numpy as np

FAR_TARGETS = (1e-2, 1e-3)


@dataclass(frozen=True)
class RocCurve:
    """Operating points when accepting every pair with distance < thresholds[k], as the service
    decides: each threshold is the next float above a distance that occurs, so the pair at that
    distance is accepted under the strict rule too."""

    far: np.ndarray
    tar: np.ndarray
    thresholds: np.ndarray  # -inf first: accept nothing


class TarAtFar(TypedDict):
    far_target: float
    tar: float
    far: float
    distance: float | None  # None: the target is met only by accepting nothing
    impostor_pairs: int
    false_accepts_allowed: int
    far_resolution: float
    reliable: bool


class DistanceSummary(TypedDict):
    count: int
    min: NotRequired[float]  # the figures are absent when there is no distance
    p05: NotRequired[float]
    median: NotRequired[float]
    mean: NotRequired[float]
    p95: NotRequired[float]
    max: NotRequired[float]


class VerificationMetrics(TypedDict):
    threshold: float
    pairs: int
    genuine_pairs: int
    impostor_pairs: int
    accuracy: float
    true_accepts: int
    false_rejects: int
    false_accepts: int
    true_rejects: int
    tar: float
    far: float
    best_accuracy: float
    best_threshold: float
    roc_auc: float
    eer: float
    eer_distance: float
    tar_at_far: list[TarAtFar]
    genuine_distances: DistanceSummary
    impostor_distances: DistanceSummary
    unscored_pairs: NotRequired[list[dict[str, str]]]  # the evaluation's report adds them


# scikit-learn's roc_curve(drop_intermediate=False) and roc_auc_score on the negated distances
# give the same points and area (tests/models/test_evaluation_metrics.py checks it), but would
# bring scikit-learn and scipy (~160 MB) into the service's install for these few lines.


def split_genuine_impostor(
    distances: np.ndarray, same: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) pair distances, each sorted ascending."""
    distances = np.asarray(distances, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    return np.sort(distances[same]), np.sort(distances[~same])


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> RocCurve:
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    values = np.unique(np.concatenate([genuine, impostor]))
    thresholds = np.concatenate([[-np.inf], np.nextafter(values, np.inf)])
    tar = np.searchsorted(genuine, thresholds, side="left") / len(genuine)
    far = np.searchsorted(impostor, thresholds, side="left") / len(impostor)
    return RocCurve(far=far, tar=tar, thresholds=thresholds)


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """P(genuine distance < impostor distance) + P(tie) / 2: the exact area under the ROC."""
    impostor = np.sort(impostor)
    above = len(impostor) - np.searchsorted(impostor, genuine, side="right")
    ties = np.searchsorted(impostor, genuine, side="right") - np.searchsorted(
        impostor, genuine, side="left"
    )
    return float((above + 0.5 * ties).sum() / (len(genuine) * len(impostor)))


def equal_error_rate(roc: RocCurve) -> tuple[float, float]:
    """(EER, distance where it occurs): FAR and FRR interpolated linearly where they cross."""
    frr = 1.0 - roc.tar
    crossed = np.flatnonzero(roc.far >= frr)  # FAR rises, FRR falls: the first k is the cross
    k = int(crossed[0])
    if k == 0 or roc.far[k] == frr[k]:
        return float(roc.far[k]), float(roc.thresholds[max(k, 1)])
    d_far, d_frr = roc.far[k] - roc.far[k - 1], frr[k] - frr[k - 1]
    alpha = (frr[k - 1] - roc.far[k - 1]) / (d_far - d_frr)
    low = roc.thresholds[k - 1] if k > 1 else roc.thresholds[k]
    return (
        float(roc.far[k - 1] + alpha * d_far),
        float(low + alpha * (roc.thresholds[k] - low)),
    )


def gap_thresholds(values: np.ndarray) -> np.ndarray:
    """Thresholds midway between consecutive distinct distances, plus one below and one above.

    Every way of splitting the pairs by a threshold is reached by one of these; being midway,
    each keeps the largest safety margin to the distances on either side.
    """
    values = np.unique(values)
    spread = max(float(values[-1] - values[0]), 1e-6)
    inner = (values[:-1] + values[1:]) / 2
    return np.concatenate([[values[0] - 0.05 * spread], inner, [values[-1] + 0.05 * spread]])


def accepted(distances: np.ndarray, threshold: float) -> int:
    """How many sorted `distances` the service accepts at `threshold` (strictly below it)."""
    return int(np.searchsorted(distances, threshold, side="left"))


def tar_at_far(roc: RocCurve, target: float, impostor_pairs: int) -> TarAtFar:
    """The best TAR whose FAR is at most `target`, with how far the figure can be trusted."""
    allowed = roc.far <= target + 1e-12
    best = int(np.flatnonzero(allowed)[np.argmax(roc.tar[allowed])])
    return {
        "far_target": target,
        "tar": float(roc.tar[best]),
        "far": float(roc.far[best]),
        "distance": None if best == 0 else float(roc.thresholds[best]),
        "impostor_pairs": impostor_pairs,
        # With n impostor pairs FAR moves in steps of 1/n: a target below 1/n can only be met
        # by zero false accepts, and a handful of false accepts is no estimate either.
        "false_accepts_allowed": math.floor(target * impostor_pairs + 1e-9),
        "far_resolution": 1.0 / impostor_pairs,
        "reliable": impostor_pairs * target >= 10,
    }


def distance_summary(values: np.ndarray) -> DistanceSummary:
    if len(values) == 0:
        return {"count": 0}
    quantiles = np.quantile(values, [0.05, 0.5, 0.95])
    return {
        "count": len(values),
        "min": float(values.min()),
        "p05": float(quantiles[0]),
        "median": float(quantiles[1]),
        "mean": float(values.mean()),
        "p95": float(quantiles[2]),
        "max": float(values.max()),
    }


def verification_metrics(
    distances: np.ndarray, same: np.ndarray, threshold: float
) -> VerificationMetrics:
    """Every verification figure from pair distances and labels (needs both kinds of pair)."""
    genuine, impostor = split_genuine_impostor(distances, same)
    if len(genuine) == 0 or len(impostor) == 0:
        raise ValueError(
            f"verification needs genuine and impostor pairs; got {len(genuine)} genuine and "
            f"{len(impostor)} impostor pairs"
        )
    total = len(genuine) + len(impostor)
    true_accepts = accepted(genuine, threshold)
    false_accepts = accepted(impostor, threshold)
    candidates = gap_thresholds(np.concatenate([genuine, impostor]))
    correct = np.searchsorted(genuine, candidates, side="left") + (
        len(impostor) - np.searchsorted(impostor, candidates, side="left")
    )
    best = int(np.argmax(correct))  # first maximum: the lowest threshold, fewest false accepts
    roc = roc_curve(genuine, impostor)
    eer, eer_distance = equal_error_rate(roc)
    return {
        "threshold": float(threshold),
        "pairs": total,
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "accuracy": (true_accepts + len(impostor) - false_accepts) / total,
        "true_accepts": true_accepts,
        "false_rejects": len(genuine) - true_accepts,
        "false_accepts": false_accepts,
        "true_rejects": len(impostor) - false_accepts,
        "tar": true_accepts / len(genuine),
        "far": false_accepts / len(impostor),
        "best_accuracy": float(correct[best] / total),
        "best_threshold": float(candidates[best]),
        "roc_auc": roc_auc(genuine, impostor),
        "eer": eer,
        "eer_distance": eer_distance,
        "tar_at_far": [tar_at_far(roc, target, len(impostor)) for target in FAR_TARGETS],
        "genuine_distances": distance_summary(genuine),
        "impostor_distances": distance_summary(impostor),
    }
