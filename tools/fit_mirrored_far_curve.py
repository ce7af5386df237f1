"""The FAR curve and 1:1 threshold of dlib-resnet's mirror-averaged embeddings (ROLLCALL_FLIP_TTA).

    python tools/fit_mirrored_far_curve.py [--lfw ../shared/lfw-devtrain] [--cache out/bench-cache]

Every LFW dev-train photo is embedded as bench/lfw.py's RollcallPipeline(flip_tta=True) does
(the face nearest the centre; cached in --cache), and FAR(t) is measured on all pairs of photos
of different people (45,092,827), as `rollcall calibrate --far-curve` measured the plain curve
(far_curves/dlib-resnet.json, the same pairs). It prints the distance whose FAR on this curve is
the one the plain curve gives dlib-resnet's 0.596: models/backbones' MIRRORED_DLIB_THRESHOLD.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import EmbeddingCache, RollcallPipeline, embed_all
from models.backbones import calibrated, get_backbone
from models.thresholds import FarCurve
from tools.fit_runner_up_curve import pairwise

ROWS_AT_ONCE = 500
REPO = Path(__file__).resolve().parents[1]


def impostor_distances(embeddings: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Distances of every pair of rows whose people differ (each pair once)."""
    out = []
    for start in range(0, len(embeddings), ROWS_AT_ONCE):
        distances = pairwise(embeddings[start : start + ROWS_AT_ONCE], embeddings)
        for offset, row in enumerate(distances):
            i = start + offset
            later = people[i + 1 :] != people[i]
            out.append(row[i + 1 :][later].astype(np.float32))
    return np.concatenate(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
                        / "lfw-devtrain")  # fmt: skip
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    args = parser.parse_args()
    root = args.lfw / "people"
    photos = sorted(root.glob("*/*.jpg"))
    pipeline = RollcallPipeline(flip_tta=True)
    lookup = embed_all(pipeline, EmbeddingCache(args.cache, pipeline.cache_key),
                       {(p, "full") for p in photos}, root, "LFW dev-train")  # fmt: skip
    found = [(p, r) for p in photos if (r := lookup(p)) is not None]
    embeddings = np.stack([r.embedding for _, r in found]).astype(np.float32)
    people = np.array([p.parent.name for p, _ in found])
    impostors = impostor_distances(embeddings, people)
    spec = calibrated(get_backbone("dlib-resnet"), True)
    shown = os.path.relpath(args.lfw, REPO)  # as the plain curve names it: ../shared/lfw-devtrain
    curve = FarCurve.from_impostors(impostors, f"{shown} ({pipeline.embedder.version})")
    curve.save(spec.far_curve)
    plain = get_backbone("dlib-resnet")
    far = FarCurve.load(plain.far_curve).far_at(plain.threshold)
    print(f"{curve.impostor_pairs} impostor pairs; wrote {spec.far_curve}; FAR {far:.5f} (the "
          f"plain curve's at {plain.threshold}) at {curve.threshold_for_far(far):.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
