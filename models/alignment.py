"""Alignment: warp each face onto its backbone's canonical 5-point template.

A similarity transform (rotation, uniform scale, translation; no shear, no reflection) is fitted
by least squares (Umeyama 1991) from the detected landmarks to the template, and the chip is
sampled bilinearly from the full-resolution photo. Coordinates use the pixel-centre convention
(the centre of pixel (0, 0) is (0, 0)), as dlib and MTCNN do.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.image import Photo


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
