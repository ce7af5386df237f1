"""Verification on LFW's labelled pairs for `bench/accuracy.py`: each pipeline's accuracy at its
threshold (dlib at face_recognition's tolerance, Rollcall's backbones at their rule's 1:1
threshold) and at the best one, ROC AUC, and the pairs with a photo without a face.
"""

from __future__ import annotations

import math

import numpy as np

from bench.lfw import FaceResult, LfwProtocol
from bench.open_set import DLIB_TOLERANCE
from models.evaluation.metrics import roc_auc
from models.identification import DecisionRule


def table(protocol: LfwProtocol, lookups: dict, rules: dict[str, DecisionRule]) -> dict[str, dict]:
    """Each pipeline's `pair_metrics` on the protocol's pairs (none without pairs)."""
    out: dict[str, dict] = {}
    same = np.array([s for _, _, s in protocol.pairs])
    for name, lookup in lookups.items() if protocol.pairs else ():
        distances = np.array([_distance(lookup(a), lookup(b)) for a, b, _ in protocol.pairs])
        threshold = DLIB_TOLERANCE if name == "dlib" else rules[name].verification_threshold()
        out[name] = pair_metrics(distances, same, threshold)
    return out


def pair_metrics(distances: np.ndarray, same: np.ndarray, threshold: float) -> dict[str, float]:
    """A pair without a face counts as 'different' (inf distance): the service cannot match it."""
    finite = np.isfinite(distances)
    candidates = np.unique(distances[finite])
    cuts = np.concatenate([candidates, [np.inf]])
    accuracies = [np.mean((distances < t) == same) for t in cuts]
    best = int(np.argmax(accuracies))
    genuine, impostor = distances[same], distances[~same]
    return {
        "accuracy": float(np.mean((distances < threshold) == same)),
        "threshold": threshold,
        "best_accuracy": float(accuracies[best]),
        "best_threshold": float(cuts[best]),
        "auc": roc_auc(genuine, impostor),  # a pair without a face (inf) ranks last
        "pairs_without_face": int((~finite).sum()),
    }


def _distance(a: FaceResult | None, b: FaceResult | None) -> float:
    if a is None or b is None:
        return math.inf
    return float(np.linalg.norm(a.embedding - b.embedding))
