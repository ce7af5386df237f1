"""Several frames of one scene (a kiosk's burst): the same person's faces grouped across
frames, and their embeddings fused into one, which lies closer to the person's enrolled
template than most single frames do (bench/accuracy.py measures by how much)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DistanceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (Q, D), (N, D) -> (Q, N)


@dataclass(frozen=True)
class FrameFace:
    box: np.ndarray  # (4,) x1, y1, x2, y2 in the frame's pixels
    embedding: np.ndarray  # (D,)


def fuse(embeddings: np.ndarray, l2_normalize: bool, parts: Sequence[int] = ()) -> np.ndarray:
    """One embedding for several of one face: their mean, put back on the sphere the
    backbone's embeddings live on: the unit sphere when it L2-normalises, else the frames' own
    mean length (dlib's raw descriptors lie near a shell of radius 1.43 +- 0.07 on LFW; a bare
    mean falls inside it, nearer to every enrolled face: bench/accuracy.py measured strangers'
    bursts marked present 2-3.6% of the time unscaled).

    `parts`: the lengths of the embeddings a fused backbone concatenates (dlib+faceres: 128
    and 1024, each weighted): each part is fused on its own, at its own frames' mean length,
    so that each keeps its share of the distance (one length for the whole would let the
    longer part's shell decide the other's)."""
    embeddings = np.asarray(embeddings, np.float32)
    if parts:
        if sum(parts) != embeddings.shape[1]:
            raise ValueError(f"parts {list(parts)} for embeddings of {embeddings.shape[1]} values")
        bounds = np.cumsum([0, *parts])
        return np.concatenate(
            [fuse(embeddings[:, a:b], l2_normalize) for a, b in itertools.pairwise(bounds)]
        )
    mean = embeddings.mean(axis=0)
    radius = 1.0 if l2_normalize else float(np.linalg.norm(embeddings, axis=1).mean())
    return (mean * (radius / max(float(np.linalg.norm(mean)), 1e-12))).astype(np.float32)


def _centre_gap(a: np.ndarray, b: np.ndarray) -> float:
    """How far apart two boxes' centres are, in widths of the larger box."""
    centre = lambda box: np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])  # noqa: E731
    width = max(float(a[2] - a[0]), float(b[2] - b[0]), 1.0)
    return float(np.linalg.norm(centre(a) - centre(b))) / width


def group_faces(
    frames: Sequence[Sequence[FrameFace]],
    distance: DistanceFn,
    same_person: float,
    max_shift: float = 1.5,
) -> list[list[tuple[int, int]]]:
    """Tracks of (frame index, face index): one per person seen in the burst.

    A face joins the track whose latest face is nearest in embedding, if that is under
    `same_person` (the 1:1 threshold) and the box moved less than `max_shift` box widths
    (a person at a door moves about a face width in a second; people side by side are told
    apart by their faces anyway); else it starts a track. A track takes at most one face per
    frame.
    """
    tracks: list[list[tuple[int, int]]] = []
    for frame_index, faces in enumerate(frames):
        taken: set[int] = set()
        for face_index, face in enumerate(faces):
            best, best_distance = None, same_person
            for track_index, track in enumerate(tracks):
                last_frame, last_face = track[-1]
                if track_index in taken or last_frame == frame_index:
                    continue
                last = frames[last_frame][last_face]
                if _centre_gap(face.box, last.box) > max_shift:
                    continue
                gap = float(distance(face.embedding[None], last.embedding[None])[0, 0])
                if gap < best_distance:
                    best, best_distance = track_index, gap
            if best is None:
                tracks.append([(frame_index, face_index)])
                taken.add(len(tracks) - 1)
            else:
                tracks[best].append((frame_index, face_index))
                taken.add(best)
    return tracks
