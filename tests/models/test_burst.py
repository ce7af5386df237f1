"""Burst fusion on plain numbers: faces grouped across frames, embeddings fused."""

from __future__ import annotations

import numpy as np
import pytest

from models.burst import FrameFace, fuse, group_faces


def _euclidean(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.linalg.norm(queries[:, None, :] - gallery[None, :, :], axis=2)


def _face(x: float, embedding: list[float]) -> FrameFace:
    return FrameFace(np.array([x, 0.0, x + 100, 100.0]), np.array(embedding, np.float32))


def test_faces_are_tracked_by_position_and_embedding() -> None:
    frames = [
        [_face(0, [0.0, 0.0]), _face(300, [1.0, 1.0])],
        [_face(310, [1.05, 1.0]), _face(10, [0.05, 0.0])],  # the order within a frame changes
        [_face(20, [0.9, 0.9])],  # near the first one's place, but the second one's face
    ]
    tracks = group_faces(frames, _euclidean, same_person=0.5)
    assert tracks == [[(0, 0), (1, 1)], [(0, 1), (1, 0)], [(2, 0)]]


def test_fuse_means_and_keeps_the_length_the_backbone_gives() -> None:
    embeddings = np.array([[3.0, 0.0], [0.0, 4.0]])
    # The mean [1.5, 2] (length 2.5) back at the frames' mean length, 3.5.
    assert np.allclose(fuse(embeddings, l2_normalize=False), [2.1, 2.8])
    fused = fuse(embeddings, l2_normalize=True)
    assert np.isclose(np.linalg.norm(fused), 1.0) and np.allclose(fused, [0.6, 0.8])


def test_fuse_of_a_fused_backbone_keeps_each_parts_own_length() -> None:
    # Two parts, [a, b | c]: the first as above (at 3.5), the second at its frames' mean, 1.
    embeddings = np.array([[3.0, 0.0, 1.0], [0.0, 4.0, 1.0]])
    assert np.allclose(fuse(embeddings, l2_normalize=False, parts=(2, 1)), [2.1, 2.8, 1.0])
    # One length for the whole vector would shrink the second part with the first.
    whole = fuse(embeddings, l2_normalize=False)
    assert not np.isclose(whole[2], 1.0)
    with pytest.raises(ValueError, match="parts"):
        fuse(embeddings, l2_normalize=False, parts=(2, 2))
