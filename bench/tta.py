"""Mirror test-time augmentation on ../shared/faces (on LFW: docs/recognition.md).

    python bench/tta.py [--faces ../shared/faces]

Prints, for each setting, the largest genuine and smallest impostor distance on
`people/` (14 genuine, 157 impostor pairs), the gap between them, and the gap relative to the
spread of distances (a scale-free margin: bigger is better). The shipped default follows it.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from models.embedder import EmbedderConfig, FaceEmbedder

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"


def separation(embedder: FaceEmbedder, photos: list[Path]) -> dict[str, float]:
    embeddings = {p: embedder.faces(p)[0].embedding for p in photos}
    genuine, impostor = [], []
    for a, b in itertools.combinations(photos, 2):
        d = float(np.linalg.norm(embeddings[a] - embeddings[b]))
        (genuine if a.parent == b.parent else impostor).append(d)
    gap = min(impostor) - max(genuine)
    return {
        "max_genuine": max(genuine),
        "min_impostor": min(impostor),
        "gap": gap,
        "mean_genuine": float(np.mean(genuine)),
        "mean_impostor": float(np.mean(impostor)),
        "relative_gap": gap / float(np.std(genuine + impostor)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--backbone", default="dlib-resnet")
    args = parser.parse_args()
    photos = sorted((args.faces / "people").glob("*/*"))
    columns = ["max gen", "min imp", "gap", "mean gen", "mean imp", "gap/std"]
    print(f"{'flip TTA':9} " + " ".join(f"{c:>9}" for c in columns))
    for flip in (False, True):
        embedder = FaceEmbedder(EmbedderConfig(backbone=args.backbone, flip_tta=flip))
        s = separation(embedder, photos)
        keys = ["max_genuine", "min_impostor", "gap", "mean_genuine", "mean_impostor"]
        cells = " ".join(f"{s[k]:9.4f}" for k in keys) + f" {s['relative_gap']:9.3f}"
        print(f"{'on' if flip else 'off':9} {cells}")


if __name__ == "__main__":
    main()
