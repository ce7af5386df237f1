"""The ONNX Runtime serving path embeds exactly as torch does, from the same weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.detection import FaceDetector
from models.embedder import EmbedderConfig, FaceEmbedder
from models.image import load_image

GROUP = "multiface.jpg"  # several faces: the chips go through as one batch


@pytest.mark.parametrize("flip_tta", [False, True])
def test_onnx_runtime_embeddings_equal_torch(
    embedder: FaceEmbedder, faces_dir: Path, flip_tta: bool
) -> None:
    config = EmbedderConfig(flip_tta=flip_tta)
    plain = FaceEmbedder(config) if flip_tta else embedder
    fast = FaceEmbedder(EmbedderConfig(flip_tta=flip_tta, runtime="onnxruntime"))
    assert fast.version == plain.version  # the same weights: templates stay comparable
    photos = [faces_dir / "people" / "barack_obama" / "obama.jpg", faces_dir / "group" / GROUP]
    chips = np.concatenate(
        [np.stack([face.chip for face in plain.faces(photo)]) for photo in photos]
    )
    assert len(chips) >= 2  # a batch, not one chip
    expected, got = plain.embed_chips(chips), fast.embed_chips(chips)
    assert np.abs(expected - got).max() < 1e-5


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown runtime 'tvm'"):
        FaceEmbedder(EmbedderConfig(runtime="tvm"))  # type: ignore[arg-type]


def test_onnx_runtime_detector_finds_the_same_faces(faces_dir: Path) -> None:
    photo = load_image((faces_dir / "group" / GROUP).read_bytes())
    plain, fast = FaceDetector().detect(photo), FaceDetector(onnx_runtime=True).detect(photo)
    assert len(plain) == len(fast) >= 2
    for a, b in zip(plain, fast, strict=True):
        assert np.abs(a.box - b.box).max() < 1e-3
        assert np.abs(a.landmarks - b.landmarks).max() < 1e-3
        assert abs(a.probability - b.probability) < 1e-5
