"""`models.image`: odd encodings decode to the same person; unreadable photos say why."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.embedder import FaceEmbedder
from models.image import ImageError, load_image
from tests.support.helpers import unsupported_dds


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _odd_versions(original: Image.Image) -> dict[str, bytes]:
    grey = original.convert("L")
    sixteen = Image.fromarray((np.asarray(grey, dtype=np.uint16) * 257).astype(np.uint16))
    # Stored sideways with an EXIF tag saying so, as a phone does for a portrait shot.
    sideways = original.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer turns it 90 degrees clockwise
    width = 4000
    big = original.resize((width, round(original.height * width / original.width)))
    return {
        "grayscale": _encode(grey, "PNG"),
        "palette": _encode(original.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "16-bit": _encode(sixteen, "PNG"),
        "rgba": _encode(original.convert("RGBA"), "PNG"),
        "exif-rotated": _encode(sideways, "JPEG", exif=exif, quality=95),
        "4000px": _encode(big, "JPEG", quality=90),
        "cmyk": _encode(original.convert("CMYK"), "JPEG"),
    }


@pytest.mark.slow
def test_odd_inputs_work_and_stay_the_same_person(embedder: FaceEmbedder, faces_dir: Path) -> None:
    source = faces_dir / "people" / "barack_obama" / "obama.jpg"
    [reference] = embedder.faces(source)
    for kind, data in _odd_versions(Image.open(source).convert("RGB")).items():
        faces = embedder.faces(data)
        assert len(faces) == 1, kind
        distance = embedder.distances(faces[0].embedding[None], reference.embedding[None])[0, 0]
        assert distance < 0.45, (kind, distance)  # far inside the 0.6 threshold
    # The EXIF orientation was applied: the face box is where it is in the upright photo.
    upright = embedder.faces(_odd_versions(Image.open(source).convert("RGB"))["exif-rotated"])[0]
    assert np.abs(upright.box - reference.box).max() < 12

    # The shared RGBA variant (32-bit PNG of obama2.jpg).
    [rgba] = embedder.faces(faces_dir / "variants" / "32bit.png")
    [obama2] = embedder.faces(faces_dir / "people" / "barack_obama" / "obama2.jpg")
    assert embedder.distances(rgba.embedding[None], obama2.embedding[None])[0, 0] < 0.2


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"%PDF-1.4 not a photo", "not_an_image"),
        (_encode(Image.new("RGB", (64, 64)), "PNG")[:60], "corrupt_image"),
        (_encode(Image.new("1", (9000, 9000)), "PNG"), "image_too_large"),
        (unsupported_dds(), "unsupported_image"),
    ],
)
def test_unreadable_photos_raise_image_error(data: bytes, code: str) -> None:
    with pytest.raises(ImageError) as error:
        load_image(data)
    assert error.value.code == code


@pytest.mark.parametrize("size", [(1, 40_000), (40_000, 1), (3, 9_000)])
def test_a_valid_thin_image_decodes(size: tuple[int, int]) -> None:
    """Scaled down to 0 pixels wide, a valid 1x40000 image answered corrupt_image."""
    photo = load_image(_encode(Image.new("RGB", size, (90, 120, 160)), "PNG"))
    assert max(photo.width, photo.height) <= 4096 and min(photo.width, photo.height) >= 1
