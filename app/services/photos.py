"""From uploaded bytes to the faces the service acts on, with the refusals users need to see."""

from __future__ import annotations

from typing import TypeVar

from app.context import ServiceContext
from app.errors import TooLarge, Unprocessable
from app.observability import current_timer
from models.embedder import AlignedFace, Face
from models.image import ImageError, load_image

DOMINANCE = 1.5  # the largest face must be this much wider than the next to be "the" face

FaceT = TypeVar("FaceT", Face, AlignedFace)


def read_faces(context: ServiceContext, data: bytes) -> list[Face]:
    """Every face in the uploaded photo; refuses unreadable photos and photos with no face."""
    return context.embedder.embedded(read_aligned_faces(context, data), current_timer())


def read_aligned_faces(context: ServiceContext, data: bytes) -> list[AlignedFace]:
    """`read_faces` without the embeddings (the caller embeds the faces it keeps)."""
    timer = current_timer()
    try:
        with timer.stage("decode"):
            photo = load_image(data, max_pixels=context.settings.max_image_pixels)
    except ImageError as exc:
        error = TooLarge if exc.code == "image_too_large" else Unprocessable
        raise error(exc.code, exc.message) from exc
    faces = context.embedder.aligned_faces(photo, timer)
    if not faces:
        raise Unprocessable("no_face", "No face was found in the photo.")
    return faces


def dominant_face(faces: list[FaceT]) -> FaceT:
    """The one face a photo is of; refuses several faces of similar size."""
    by_size = sorted(faces, key=lambda face: face.quality.face_size, reverse=True)
    if len(by_size) > 1 and by_size[0].quality.face_size < DOMINANCE * by_size[1].quality.face_size:
        raise Unprocessable(
            "multiple_faces",
            f"The photo shows {len(faces)} faces of similar size; use a photo of one person.",
            faces=len(faces),
        )
    return by_size[0]
