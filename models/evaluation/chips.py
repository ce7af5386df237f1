"""Detect and align each photo of a dataset once, listing what could not be used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np
from tqdm import tqdm

from models.embedder import FaceEmbedder
from models.image import ImageError, load_image


class UnreadablePhoto(TypedDict):
    path: str
    error: str


class SeveralFacesPhoto(TypedDict):
    path: str
    faces: int


class PhotoIssues(TypedDict):
    total: int
    embedded: int
    no_face_count: int
    no_face: list[str]
    unreadable_count: int
    unreadable: list[UnreadablePhoto]
    multiple_faces_count: int
    multiple_faces: list[SeveralFacesPhoto]
    identities: NotRequired[int]  # folder datasets


@dataclass
class ChipSet:
    """The aligned chip of the most probable face of each photo, and what went wrong where."""

    paths: list[str]  # photos with a face, in input order
    chips: np.ndarray  # (len(paths), S, S, 3) uint8
    no_face: list[str] = field(default_factory=list)
    unreadable: list[UnreadablePhoto] = field(default_factory=list)
    multiple_faces: list[SeveralFacesPhoto] = field(default_factory=list)

    def issues(self, total: int) -> PhotoIssues:
        return {
            "total": total,
            "embedded": len(self.paths),
            "no_face_count": len(self.no_face),
            "no_face": self.no_face,
            "unreadable_count": len(self.unreadable),
            "unreadable": self.unreadable,
            "multiple_faces_count": len(self.multiple_faces),
            "multiple_faces": self.multiple_faces,
        }


def extract_chips(
    embedder: FaceEmbedder, root: Path, paths: Sequence[str], progress: bool = True
) -> ChipSet:
    """Detect and align each photo once; training and evaluation then work on the chips."""
    size = embedder.spec.chip_size
    kept: list[str] = []
    chips: list[np.ndarray] = []
    result = ChipSet(paths=kept, chips=np.zeros((0, size, size, 3), np.uint8))
    for path in tqdm(paths, desc="detect+align", unit="photo", disable=not progress):
        try:
            photo = load_image(Path(root) / path)
        except ImageError as exc:
            result.unreadable.append({"path": path, "error": exc.message})
            continue
        faces = embedder.detect(photo)  # most probable first
        if not faces:
            result.no_face.append(path)
            continue
        if len(faces) > 1:
            result.multiple_faces.append({"path": path, "faces": len(faces)})
        kept.append(path)
        chips.append(embedder.align(photo, faces[0]))
    if chips:
        result.chips = np.stack(chips)
    return result
