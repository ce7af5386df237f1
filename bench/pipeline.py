"""Per-stage latency of Rollcall's pipeline beside dlib's own, on the same photos, same run.

dlib's side is the `face_recognition` pipeline: HOG detector (upsampled once, its default),
5-point landmarks, ResNet descriptor. Rollcall's: decode, MTCNN detect, align, embed (the same
ResNet, ported to torch). Runs alternate between the two so machine load hits both alike.

    python bench/pipeline.py [--repeat 7]        (needs dlib-bin, from the `test` extra)
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import DlibModels
from models.embedder import FaceEmbedder, StageTimer
from models.image import load_image

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
PHOTOS = {"480p": "variants/obama-480p.jpg", "1080p": "variants/obama-1080p.jpg"}
STAGES = ["decode", "detect", "align", "embed"]


class DlibPipeline(DlibModels):
    def run(self, data: bytes, timer: StageTimer) -> int:
        with timer.stage("decode"):
            pixels = load_image(data).pixels
        with timer.stage("detect"):
            boxes = self.detector(pixels, 1)
        with timer.stage("align"):
            shapes = [self.landmarks(pixels, box) for box in boxes]
        with timer.stage("embed"):
            descriptors = [self.encoder.compute_face_descriptor(pixels, s) for s in shapes]
        return len(descriptors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--faces", type=Path, default=FACES)
    args = parser.parse_args()

    rollcall, dlib_pipeline = FaceEmbedder(), DlibPipeline()
    print(
        f"{'photo':6} {'pipeline':9} "
        + " ".join(f"{s:>8}" for s in STAGES)
        + f" {'total':>8}  (median ms)"
    )
    for label, relative in PHOTOS.items():
        data = (args.faces / relative).read_bytes()
        rollcall.faces(data), dlib_pipeline.run(data, StageTimer())  # warm-up
        runs: dict[str, list[StageTimer]] = {"rollcall": [], "dlib": []}
        for _ in range(args.repeat):
            timer = StageTimer()
            assert len(rollcall.faces(data, timer)) == 1
            runs["rollcall"].append(timer)
            timer = StageTimer()
            assert dlib_pipeline.run(data, timer) == 1
            runs["dlib"].append(timer)
        totals = {}
        for name, timers in runs.items():
            medians = [statistics.median(t.seconds[s] for t in timers) * 1000 for s in STAGES]
            totals[name] = statistics.median(sum(t.seconds.values()) for t in timers) * 1000
            cells = " ".join(f"{m:8.1f}" for m in medians)
            print(f"{label:6} {name:9} {cells} {totals[name]:8.1f}")
        ratio = totals["rollcall"] / totals["dlib"]
        print(f"{label:6} rollcall/dlib = {ratio:.2f}x (target <= 0.60x)")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
