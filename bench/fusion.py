"""Score-level fusion of dlib-resnet and faceres for `bench/accuracy.py --opt-in dlib+faceres`.

The fused distance of two faces is D^2 = a d_dlib^2 + b d_faceres^2, with a and b fitted on half
0 of LFW dev-train by `tools/fit_faceres.py --fusion-only` (far_curves/dlib+faceres-weights.json:
a = w, b = (1 - w) k, k putting faceres's impostor distances on dlib's scale). It is the
euclidean distance of the concatenated embeddings [sqrt(a) e_dlib, sqrt(b) e_faceres], so the
search, the runner-up rule and the burst fusion run on it unchanged. Its FAR curve, runner-up
curve and 1:1 threshold (the FAR of dlib's 0.596 on dlib's own curve) come from the same fit.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.lfw import FaceResult
from models.backbones import FAR_CURVES, get_backbone
from models.fusion import part_lengths
from models.identification import DecisionRule
from models.thresholds import FarCurve, RunnerUpCurve

NAME = "dlib+faceres"
WEIGHTS_FILE = FAR_CURVES / f"{NAME}-weights.json"
PARTS = part_lengths(get_backbone(NAME))  # a burst fuses each part on its own (models.burst)
Lookup = Callable[..., FaceResult | None]


def weights(path: Path = WEIGHTS_FILE) -> tuple[float, float]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return float(document["dlib"]), float(document["faceres"])


def fused_lookup(dlib: Lookup, faceres: Lookup) -> Lookup:
    """(photo, variant) -> the concatenated, weighted embedding; None where either has no face."""
    a, b = weights()

    def lookup(path: Path, variant: str = "full") -> FaceResult | None:
        first, second = dlib(path, variant), faceres(path, variant)
        if first is None or second is None:
            return None
        embedding = np.concatenate([np.sqrt(a) * first.embedding, np.sqrt(b) * second.embedding])
        return dataclasses.replace(first, embedding=embedding.astype(np.float32))

    return lookup


def fused_rule() -> DecisionRule:
    """The fusion's rule as the service builds a backbone's: FAR curve, runner-up curve and the
    1:1 ceiling with the FAR dlib's shipped threshold has on dlib's curve."""
    dlib = get_backbone("dlib-resnet")
    assert dlib.far_curve is not None
    curve = FarCurve.load(FAR_CURVES / f"{NAME}.json")
    ceiling = curve.threshold_for_far(FarCurve.load(dlib.far_curve).far_at(dlib.threshold))
    runner_up = RunnerUpCurve.load(FAR_CURVES / f"{NAME}-runner-up.json")
    return DecisionRule(ceiling=ceiling, curve=curve, runner_up_curve=runner_up)
