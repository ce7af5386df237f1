"""Paths of the model files that ship inside registry packages (no download at run time)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DLIB_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_LANDMARKS_5_FILE = "shape_predictor_5_face_landmarks.dat"
DLIB_LANDMARKS_68_FILE = "shape_predictor_68_face_landmarks.dat"


def face_recognition_models_file(name: str) -> Path:
    """Path of `name` inside the `face_recognition_models` package.

    The package's own `__init__` imports `pkg_resources`, which recent setuptools no longer
    ships, so it is located through importlib instead of imported.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The face_recognition_models package is not installed; "
            "`pip install face_recognition_models` provides dlib's face models."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} is missing from the face_recognition_models package")
    return path
