"""A face's fitness for recognition: size, sharpness and pose, folded into one score in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Where recognition stops improving, measured by bench/accuracy.py's enrollment-gate study
# (LFW photos downscaled and blurred): faces of 45-50 px match as well as 92 px ones, and chips
# with a sharpness of 6-8 and above as well as sharp ones; below 4 most check-ins fail.
GOOD_FACE_SIZE = 50.0  # pixels, the shorter side of the detection box
GOOD_SHARPNESS = 8.0  # variance of the Laplacian of the grey 150 px dlib chip
MAX_YAW = 0.6  # |nose offset| / eye distance; about 45 degrees of head turn


@dataclass(frozen=True)
class FaceQuality:
    score: float  # product of the three scores below, each in [0, 1]
    face_size: float  # shorter side of the detection box, in photo pixels
    sharpness: float  # variance of the Laplacian of the grey chip
    yaw: float  # nose offset from the eyes' midline, in eye distances (0 is frontal)
    roll: float  # tilt of the eye line, in degrees


def sharpness(chip: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a (S, S, 3) uint8 chip: low means blurred."""
    grey = chip.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    return float(lap.var())


def assess(box: np.ndarray, landmarks: np.ndarray, chip: np.ndarray) -> FaceQuality:
    face_size = float(min(box[2] - box[0], box[3] - box[1]))
    left_eye, right_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    eye_vector = right_eye - left_eye
    eye_distance = float(np.linalg.norm(eye_vector)) or 1.0
    roll = float(np.degrees(np.arctan2(eye_vector[1], eye_vector[0])))
    # Nose offset along the eye line, relative to the eyes' midpoint.
    yaw = float(np.dot(nose - (left_eye + right_eye) / 2, eye_vector) / eye_distance**2)
    blur = sharpness(chip)
    score = (
        min(1.0, face_size / GOOD_FACE_SIZE)
        * min(1.0, blur / GOOD_SHARPNESS)
        * max(0.0, 1.0 - abs(yaw) / MAX_YAW)
    )
    return FaceQuality(
        score=round(score, 4), face_size=face_size, sharpness=blur, yaw=yaw, roll=roll
    )
