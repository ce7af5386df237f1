"""`models.detection`: face counts of group photos, false faces, photos too small."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from models.detection import DetectorConfig, FaceDetector
from models.embedder import FaceEmbedder
from models.image import load_image


@pytest.mark.parametrize(
    ("photo", "count"),
    [
        ("two_people.jpg", 2),
        ("obama_and_biden.jpg", 3),
        ("kit_with_rose.jpg", 2),
        ("multiface.jpg", 6),
    ],
)
def test_group_photos_give_the_right_face_counts(
    embedder: FaceEmbedder, faces_dir: Path, photo: str, count: int
) -> None:
    faces = embedder.faces(faces_dir / "group" / photo)
    assert len(faces) == count
    assert all(face.embedding.shape == (128,) for face in faces)


def test_faint_false_faces_are_dropped(faces_dir: Path) -> None:
    photo = load_image(faces_dir / "variants" / "obama-720p.jpg")
    loose_config = DetectorConfig(min_probability=0.5, min_face_size=20, max_side=1280)
    loose = FaceDetector(loose_config).detect(photo)
    assert len(loose) == 2 and min(f.probability for f in loose) < 0.9  # the false face is there
    assert len(FaceDetector().detect(photo)) == 1  # and the default floors drop it


def test_photos_too_small_for_any_face_give_no_face(embedder: FaceEmbedder) -> None:
    for size in ((30, 30), (20, 3000), (3000, 12)):
        png = io.BytesIO()
        Image.new("RGB", size, (120, 90, 60)).save(png, format="PNG")
        assert embedder.faces(png.getvalue()) == []
