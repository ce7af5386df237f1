"""Measure the canonical 5-point landmark templates used to align faces for two backbones.

Run from the project root::

    python tools/measure_templates.py [--faces ../shared/faces]

It prints, ready to paste, where MTCNN's five landmarks (left eye, right eye, nose, left mouth
corner, right mouth corner, in that order, as facenet-pytorch returns them) sit on average in

* the dlib face chip (150x150, padding 0.25) that dlib's ResNet face-recognition model expects,
  the chip `dlib.get_face_chip(img, shape, 150, 0.25)` cuts out around a 5-point dlib shape;
* the 160x160 facenet-pytorch crop: the MTCNN box (margin 0, no rotation) resized to 160x160,
  which is what the facenet-pytorch models were trained on.

With such a template, a face found by MTCNN can be warped (similarity transform from its five
landmarks to the template) into the same frame the backbone was trained on, without running
dlib's detector and shape predictor at inference time.

Why the measurement is done on the full photo
---------------------------------------------
Both detectors run on the same full photo, and MTCNN's landmarks are then carried into chip
coordinates through dlib's own image->chip transform. The obvious shortcut, cutting the dlib
chip first and running MTCNN on that small chip, gives a biased template: on a 150x150 chip the
face fills the frame with little context around it, far from the scale and framing MTCNN was
trained on (its P-Net/R-Net/O-Net cascade sees faces inside photos), so the landmarks it
returns on the chip drift systematically. On the full photo MTCNN works in its normal regime
and the only thing between its landmarks and the chip is an exact affine map.

That map is the one dlib itself uses, `get_mapping_to_chip` in
dlib/image_transforms/interpolation.h: the three corners tl, tr, br of the chip rectangle,
rotated by the chip angle about the rectangle's centre, go to the chip pixels (0, 0),
(cols-1, 0) and (cols-1, rows-1). It is rebuilt here from the `chip_details` (rect, angle, rows,
cols) because the Python binding does not expose it. It is not quite the similarity transform
`get_face_chip_details` fitted between dlib's reference points (times `size`) and the face: the
chip rectangle is built by `centered_drect`, one pixel narrower than `size` times the scale, and
its corners go to pixels 0 and `size - 1`, so the fitted frame comes out shifted by half a pixel
and very slightly shrunk. The template is therefore measured through the map dlib actually cuts
the chip with. As a check, dlib's own five landmarks are mapped through the same transform: they
land on nearly the same chip positions for every face (what is left is the residual of dlib's
5-point similarity fit), and the script prints their spread.

Faces are the photos under `people/` and `group/` of the shared face set; `variants/` is skipped
because those are re-encodings of photos in `people/` and would count the same faces twice. A
face is used only when dlib's HOG detector and MTCNN both find it (box IoU above 0.3), which also
drops MTCNN's occasional faint false faces.

This is a one-off measuring tool, so it imports dlib (part of the project's test extra).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np
from facenet_pytorch import MTCNN
from PIL import Image

from models.bundled import DLIB_LANDMARKS_5_FILE, face_recognition_models_file
from models.image import load_image

DEFAULT_FACES = Path(__file__).resolve().parents[3] / "shared" / "faces"
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})

DLIB_CHIP_SIZE = 150
DLIB_CHIP_PADDING = 0.25
DLIB_UPSAMPLE = 1
FACENET_CROP_SIZE = 160
MIN_IOU = 0.3

LANDMARK_NAMES = ("left eye", "right eye", "nose", "left mouth", "right mouth")


@dataclass(frozen=True)
class FaceSample:
    """One face found by both detectors, with its landmarks in each backbone's frame."""

    photo: str
    iou: float
    dlib_chip_mtcnn: np.ndarray  # (5, 2) MTCNN landmarks in dlib chip pixels
    dlib_chip_dlib: np.ndarray  # (5, 2) dlib's own 5 landmarks in dlib chip pixels
    facenet_crop_mtcnn: np.ndarray  # (5, 2) MTCNN landmarks in 160x160 crop pixels


@dataclass(frozen=True)
class Template:
    """Mean landmark positions over the faces, with their per-point spread."""

    mean: np.ndarray  # (5, 2)
    std: np.ndarray  # (5, 2)


def five_point_model_path() -> str:
    """Path of dlib's 5-point shape predictor shipped in face_recognition_models."""
    return str(face_recognition_models_file(DLIB_LANDMARKS_5_FILE))


def photo_paths(faces_dir: Path) -> list[Path]:
    """The photos under people/ and group/ (not variants/, which duplicate people/)."""
    paths = [*faces_dir.glob("people/*/*"), *faces_dir.glob("group/*")]
    return sorted(p for p in paths if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def _rotate(center: np.ndarray, point: np.ndarray, angle: float) -> np.ndarray:
    """dlib's `rotate_point`: rotate `point` about `center` by `angle` radians."""
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = point - center
    return center + np.array([c * dx - s * dy, s * dx + c * dy])


def _affine_from_3_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The (2, 3) affine matrix taking three `src` points exactly onto three `dst` points."""
    design = np.hstack([src, np.ones((3, 1))])  # rows: [x, y, 1]
    return np.linalg.solve(design, dst).T


def mapping_to_chip(details: dlib.chip_details) -> np.ndarray:
    """dlib's `get_mapping_to_chip(details)` as a (2, 3) matrix from image to chip pixels."""
    rect = details.rect
    center = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
    corners = (
        np.array([rect.left(), rect.top()]),  # tl -> (0, 0)
        np.array([rect.right(), rect.top()]),  # tr -> (cols-1, 0)
        np.array([rect.right(), rect.bottom()]),  # br -> (cols-1, rows-1)
    )
    src = np.stack([_rotate(center, corner, details.angle) for corner in corners])
    last_col, last_row = details.cols - 1, details.rows - 1
    dst = np.array([[0, 0], [last_col, 0], [last_col, last_row]], dtype=np.float64)
    return _affine_from_3_points(src, dst)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine matrix to (N, 2) points."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def dlib_box(rect: dlib.rectangle) -> tuple[float, float, float, float]:
    """A dlib rectangle (inclusive corners) as an (x1, y1, x2, y2) box."""
    return (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)


def facenet_crop_box(box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixel box facenet-pytorch's `extract_face` crops for an MTCNN box (margin 0)."""
    return (
        int(max(box[0], 0)),
        int(max(box[1], 0)),
        int(min(box[2], width)),
        int(min(box[3], height)),
    )


def to_facenet_crop(points: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    """Full-photo points -> pixels of the crop resized to 160x160 (no rotation)."""
    x1, y1, x2, y2 = crop
    scale = np.array([FACENET_CROP_SIZE / (x2 - x1), FACENET_CROP_SIZE / (y2 - y1)])
    return (points - np.array([x1, y1])) * scale


def match_faces(
    dlib_boxes: Sequence[Sequence[float]], mtcnn_boxes: Sequence[Sequence[float]]
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by IoU (best first); pairs below MIN_IOU are left out."""
    pairs = sorted(
        (
            (box_iou(d, m), i, j)
            for i, d in enumerate(dlib_boxes)
            for j, m in enumerate(mtcnn_boxes)
        ),
        reverse=True,
    )
    used_dlib: set[int] = set()
    used_mtcnn: set[int] = set()
    matches = []
    for iou, i, j in pairs:
        if iou <= MIN_IOU or i in used_dlib or j in used_mtcnn:
            continue
        used_dlib.add(i)
        used_mtcnn.add(j)
        matches.append((i, j, iou))
    return matches


class Measurer:
    """Runs both detectors on a photo and maps the matched faces' landmarks."""

    def __init__(self) -> None:
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(five_point_model_path())
        self.mtcnn = MTCNN(keep_all=True, device="cpu")

    def measure(self, path: Path) -> Iterator[FaceSample]:
        pixels = load_image(path).pixels  # EXIF orientation applied, 8-bit RGB
        height, width = pixels.shape[:2]
        rects = list(self.detector(pixels, DLIB_UPSAMPLE))
        boxes, _probs, landmarks = self.mtcnn.detect(Image.fromarray(pixels), landmarks=True)
        if not rects or boxes is None:
            return
        # With numpy 2, facenet-pytorch may hand back object-dtype arrays.
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        landmarks = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)

        for i, j, iou in match_faces([dlib_box(r) for r in rects], boxes):
            shape = self.predictor(pixels, rects[i])
            details = dlib.get_face_chip_details(shape, DLIB_CHIP_SIZE, DLIB_CHIP_PADDING)
            to_chip = mapping_to_chip(details)
            dlib_points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
            crop = facenet_crop_box(boxes[j], width, height)
            yield FaceSample(
                photo=str(path),
                iou=iou,
                dlib_chip_mtcnn=apply_affine(to_chip, landmarks[j]),
                dlib_chip_dlib=apply_affine(to_chip, dlib_points),
                facenet_crop_mtcnn=to_facenet_crop(landmarks[j], crop),
            )


def summarize(points: Sequence[np.ndarray]) -> Template:
    stack = np.stack(points)
    return Template(mean=stack.mean(axis=0), std=stack.std(axis=0))


def format_constant(
    name: str, points: np.ndarray, labels: Sequence[str] = LANDMARK_NAMES, decimals: int = 3
) -> str:
    rows = "".join(
        f"        [{x:.{decimals}f}, {y:.{decimals}f}],  # {label}\n"
        for (x, y), label in zip(points, labels, strict=True)
    )
    return f"{name} = np.array(\n    [\n{rows}    ],\n    dtype=np.float32,\n)"


def format_std(template: Template, labels: Sequence[str] = LANDMARK_NAMES) -> str:
    return "\n".join(
        f"#   {label:<12} std x {sx:5.2f}  y {sy:5.2f}  px"
        for (sx, sy), label in zip(template.std, labels, strict=True)
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES, help="shared face set")
    parser.add_argument("--verbose", action="store_true", help="list every matched face")
    args = parser.parse_args(argv)

    measurer = Measurer()
    photos = photo_paths(args.faces)
    samples = [sample for path in photos for sample in measurer.measure(path)]
    if not samples:
        raise SystemExit(f"No face found by both detectors under {args.faces}")
    if args.verbose:
        for s in samples:
            print(f"# {Path(s.photo).relative_to(args.faces)}  IoU {s.iou:.2f}")

    dlib_template = summarize([s.dlib_chip_mtcnn for s in samples])
    facenet_template = summarize([s.facenet_crop_mtcnn for s in samples])
    dlib_check = summarize([s.dlib_chip_dlib for s in samples])

    print(f"# Measured on {len(samples)} faces from {len(photos)} photos (people/ + group/),")
    print("# each found by dlib HOG (upsample 1) and facenet-pytorch MTCNN on the full photo.")
    print("# Landmark order: MTCNN's (left eye, right eye, nose, left/right mouth corner).")
    print()
    print(
        f"# dlib chip: {DLIB_CHIP_SIZE}x{DLIB_CHIP_SIZE}, padding {DLIB_CHIP_PADDING}; MTCNN "
        "landmarks mapped through dlib's get_mapping_to_chip."
    )
    print(format_constant("DLIB_CHIP_TEMPLATE", dlib_template.mean))
    print(format_std(dlib_template))
    print()
    print(
        f"# facenet crop: {FACENET_CROP_SIZE}x{FACENET_CROP_SIZE}, measured from MTCNN crops "
        "(MTCNN box, margin 0, resized without rotation)."
    )
    print(format_constant("FACENET_CROP_TEMPLATE", facenet_template.mean))
    print(format_std(facenet_template))
    print()
    print("# Check: dlib's own 5 landmarks through the same transform (dlib order), mean and std.")
    dlib_parts = [f"dlib part {k}" for k in range(5)]
    print(format_constant("DLIB_OWN_POINTS_IN_CHIP", dlib_check.mean, labels=dlib_parts))
    print(format_std(dlib_check, labels=dlib_parts))


if __name__ == "__main__":
    main()
