"""A check-in of several frames of one scene: each person's faces found across the frames and
fused into one face, so that one decision is made per person (models/burst.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from app.core.errors import Unprocessable
from app.search.recognizer import Recognizer
from app.services.photos import read_faces
from models.burst import FrameFace, fuse, group_faces
from models.embedder import Face
from models.fusion import part_lengths


@dataclass(frozen=True)
class BurstFaces:
    faces: list[Face]  # one per person: their sharpest frame's face, with the fused embedding
    frames: list[int]  # how many frames showed each
    shown_in: list[int]  # the frame each face's box is of (its best-quality one)


def fused_face(recognizer: Recognizer, faces: list[Face]) -> Face:
    """One face for several of one person: the best-quality one's box, the fused embedding."""
    best = max(faces, key=lambda face: face.quality.score)
    spec = recognizer.embedder.spec
    embeddings = np.stack([face.embedding for face in faces])
    embedding = fuse(embeddings, spec.l2_normalize, part_lengths(spec))  # a fusion: per part
    return dataclasses.replace(best, embedding=embedding)


def burst_faces(recognizer: Recognizer, frames: list[bytes]) -> BurstFaces:
    """Refuses more frames than ROLLCALL_MAX_BURST_FRAMES, and a burst with no face at all;
    a frame without a face (a blink, a turned head) is only left out."""
    limit = recognizer.max_burst_frames
    if len(frames) > limit:
        raise Unprocessable(
            "burst_size",
            f"A check-in takes at most {limit} frames (ROLLCALL_MAX_BURST_FRAMES); "
            f"got {len(frames)}.",
            frames=len(frames),
        )
    if len(frames) == 1:  # a photo: its refusals as they are
        faces = read_faces(recognizer, frames[0])
        return BurstFaces(faces, [1] * len(faces), [0] * len(faces))
    per_frame = [_faces_or_none(recognizer, frame) for frame in frames]
    if not any(per_frame):
        raise Unprocessable("no_face", "No face was found in any frame.")
    tracks = group_faces(
        [[FrameFace(face.box, face.embedding) for face in faces] for faces in per_frame],
        recognizer.embedder.distances,
        recognizer.rule.verification_threshold(),
    )
    members = [[per_frame[f][i] for f, i in track] for track in tracks]
    best = [max(track, key=lambda fi: per_frame[fi[0]][fi[1]].quality.score) for track in tracks]
    return BurstFaces(
        [fused_face(recognizer, faces) for faces in members],
        [len(t) for t in tracks],
        [frame for frame, _ in best],
    )


def _faces_or_none(recognizer: Recognizer, frame: bytes) -> list[Face]:
    try:
        return read_faces(recognizer, frame)
    except Unprocessable as exc:
        if exc.code == "no_face":
            return []
        raise
