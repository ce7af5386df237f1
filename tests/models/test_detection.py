"""`models.detection`: face counts of group photos, false faces, photos too small, the
downscale folded into the pyramid."""

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


@pytest.mark.slow
def test_up_to_twice_max_side_the_pyramid_finds_the_faces_of_the_downscaled_photo(
    faces_dir: Path,
) -> None:
    """The downscale to max_side is folded into MTCNN's pyramid (no resize first): the faces
    found are those of the photo resized to max_side beforehand, as detection ran before."""
    detector = FaceDetector()
    max_side = detector.config.max_side
    compared = 0
    for path in sorted((faces_dir / "people").rglob("*.*")):
        with Image.open(path) as image:
            original = image.convert("RGB")
        longest = max(original.size)
        if not max_side < longest <= 2 * max_side:
            continue
        scale = max_side / longest
        size = (round(original.width * scale), round(original.height * scale))
        shrunk = original.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        folded = detector.detect(load_image(_png(original)))
        resized_first = detector.detect(load_image(_png(shrunk)))
        assert len(folded) == len(resized_first) >= 1, path
        for face, before in zip(folded, resized_first, strict=True):
            # MTCNN's own jitter between two resamplings of a photo, measured on these photos:
            # landmarks up to 3.2% of the face's size, box corners up to 7%. A wrong scale
            # anywhere in the fold moves them by tens of percent.
            assert abs(face.landmarks - before.landmarks / scale).max() < 0.04 * face.size, path
            assert abs(face.box - before.box / scale).max() < 0.1 * face.size, path
        compared += 1
    assert compared >= 3


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
