"""`models.embedder`: the whole pipeline on the shared photos (separation, variants, batches)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from models.embedder import FaceEmbedder


def _people(faces_dir: Path) -> list[Path]:
    return sorted((faces_dir / "people").glob("*/*"))


@pytest.mark.slow
def test_every_genuine_pair_below_and_every_impostor_pair_above_threshold(
    embedder: FaceEmbedder, faces_dir: Path
) -> None:
    photos = _people(faces_dir)
    embeddings = {}
    for photo in photos:
        [face] = embedder.faces(photo)
        embeddings[photo] = face.embedding
    genuine, impostor = [], []
    for a, b in itertools.combinations(photos, 2):
        distance = float(embedder.distances(embeddings[a][None], embeddings[b][None])[0, 0])
        (genuine if a.parent == b.parent else impostor).append((distance, a.name, b.name))
    assert (len(genuine), len(impostor)) == (14, 157)
    assert max(genuine)[0] < embedder.spec.threshold, max(genuine)
    assert min(impostor)[0] > embedder.spec.threshold, min(impostor)


@pytest.mark.parametrize(
    "variant",
    ["obama-240p.jpg", "obama-480p.jpg", "obama-720p.jpg", "obama-1080p.jpg", "obama_small.jpg"],
)
def test_resolution_variants_are_still_obama(
    embedder: FaceEmbedder, faces_dir: Path, variant: str
) -> None:
    [reference] = embedder.faces(faces_dir / "people" / "barack_obama" / "obama.jpg")
    [face] = embedder.faces(faces_dir / "variants" / variant)
    distance = embedder.distances(face.embedding[None], reference.embedding[None])[0, 0]
    assert distance < embedder.spec.threshold


def test_partial_faces_do_not_break_the_pipeline(embedder: FaceEmbedder, faces_dir: Path) -> None:
    for name in ("obama_partial_face.jpg", "obama_partial_face2.jpg"):
        faces = embedder.faces(faces_dir / "variants" / name)
        # Not vacuous (with no face found the loop asserted nothing, and passed);
        # each photo shows one partial face, which MTCNN finds today.
        assert len(faces) == 1, name
        for face in faces:
            assert np.isfinite(face.embedding).all()
            assert 0.0 <= face.quality.score <= 1.0


def test_batch_embedding_equals_one_by_one(embedder: FaceEmbedder, faces_dir: Path) -> None:
    faces = embedder.faces(faces_dir / "group" / "multiface.jpg")
    chips = np.stack([face.chip for face in faces] * 7)  # 42 chips: more than one batch
    batch = embedder.embed_chips(chips)
    for index, face in enumerate(faces):
        np.testing.assert_allclose(batch[index], face.embedding, atol=1e-4)
        np.testing.assert_allclose(batch[index + 6 * len(faces)], face.embedding, atol=1e-4)
