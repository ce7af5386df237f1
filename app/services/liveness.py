"""Liveness challenges: hand a kiosk a nonce and an action, then judge the burst it sends back."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.errors import Conflict, Gone, NotFound, Unprocessable
from app.core.observability import current_timer
from app.core.tables import LivenessChallenge, as_utc
from app.services.burst import fused_face
from app.services.keys import hash_key
from app.services.photos import dominant_face, read_photo_faces
from models.embedder import Face
from models.face_shape import FaceShape
from models.liveness import Action, nose_position
from models.liveness_motion import MIN_FRAMES
from models.liveness_sequence import (
    SequenceResult,
    assess_sequence,
    parts_of,
    random_sequence,
    shaped_frames,
)

# Long enough to read three prompts, move and send 24 frames over a slow network; short enough
# that a nonce is of no use to anyone who saw it later.
CHALLENGE_SECONDS = 30
# Challenges expired this long ago are deleted as new ones are issued, so the table holds about
# an hour of them; a nonce older than that answers `challenge_not_found`, still refused.
KEEP_EXPIRED = dt.timedelta(hours=1)
MAX_FRAME_MS = 60_000  # capture times past a minute are no burst of one challenge
# A frame is the recognised student's when that student is its nearest enrolled one and its
# distance to their templates is under this many times the identification threshold: a head
# turned 20-40 degrees, or half hidden by a hand, is further from a frontal template than the
# threshold allows a whole face, but still nearer to its own than to anyone else's.
FRAME_IDENTITY_SLACK = 1.5


_CHOOSER = random.SystemRandom()


@dataclass(frozen=True)
class IssuedChallenge:
    nonce: str
    actions: tuple[Action, ...]  # in the order asked
    expires_in: int
    required: bool  # ROLLCALL_LIVENESS=challenge: check-ins without a nonce are refused

    @property
    def action(self) -> Action:
        return self.actions[0]


@dataclass(frozen=True)
class Burst:
    """A burst's faces, one per frame in order, and each face's 68 landmarks where the
    judgement reads them (`shaped_frames`: the turns' frames), None elsewhere."""

    faces: list[Face]
    shapes: list[np.ndarray | None]


_face_shape_lock = threading.Lock()


def face_shape() -> FaceShape:
    """dlib's 68-point predictor, loaded once (95 MB) on the first burst judged: under a lock,
    so that two first bursts arriving together do not each load it."""
    with _face_shape_lock:
        return _loaded_face_shape()


@cache
def _loaded_face_shape() -> FaceShape:
    return FaceShape()


@dataclass(frozen=True)
class BurstJudgement:
    actions: tuple[Action, ...]
    result: SequenceResult
    face: Face  # the most frontal frame's face: the answer shows its box
    faces: list[Face]  # every frame's: fused into the one searched in the gallery when live


def issue(context: ServiceContext, db: Session, key: str) -> IssuedChallenge:
    """A challenge for the kiosk presenting `key`: only that key can answer it."""
    now = dt.datetime.now(dt.UTC)
    db.execute(delete(LivenessChallenge).where(LivenessChallenge.expires_at < now - KEEP_EXPIRED))
    offered = [Action(name) for name in context.settings.liveness_actions]
    actions = random_sequence(context.settings.liveness_steps, offered, _CHOOSER)
    challenge = LivenessChallenge(
        nonce=secrets.token_urlsafe(24),
        action=" ".join(action.value for action in actions),
        key_hash=hash_key(key),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=CHALLENGE_SECONDS),
    )
    db.add(challenge)
    db.commit()
    return IssuedChallenge(
        challenge.nonce,
        actions,
        CHALLENGE_SECONDS,
        context.settings.liveness == "challenge",
    )


def actions_of(challenge: LivenessChallenge) -> tuple[Action, ...]:
    """The challenge's actions, in order (one for a challenge issued before sequences)."""
    return tuple(Action(name) for name in challenge.action.split())


def check(db: Session, nonce: str, now: dt.datetime, key: str) -> tuple[Action, ...]:
    """The nonce's actions if `key` may still answer it; refuses as `redeem` does, spending
    nothing, so that a burst refused before it is judged (no face in a frame) costs no nonce."""
    challenge = _challenge_of(db, nonce, key)
    if challenge.used_at is not None:
        raise _used()
    if as_utc(challenge.expires_at) <= now:
        raise _expired()
    return actions_of(challenge)


def redeem(db: Session, nonce: str, now: dt.datetime, key: str) -> tuple[Action, ...]:
    """Use the nonce up and return its actions; refuses unknown, used and expired nonces and
    those issued to another key (as unknown: a nonce tells no other kiosk anything).

    One conditional UPDATE decides, so two workers handed the same nonce cannot both use it.
    It is committed at once: a burst judged not live must not be retried with the same nonce.
    """
    redeemed = db.execute(
        update(LivenessChallenge)
        .where(
            LivenessChallenge.nonce == nonce,
            LivenessChallenge.key_hash == hash_key(key),
            LivenessChallenge.used_at.is_(None),
            LivenessChallenge.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
    db.commit()
    challenge = _challenge_of(db, nonce, key)
    if redeemed == 1:
        return actions_of(challenge)
    if challenge.used_at is not None:
        raise _used()
    raise _expired()


def _challenge_of(db: Session, nonce: str, key: str) -> LivenessChallenge:
    challenge = db.scalar(select(LivenessChallenge).where(LivenessChallenge.nonce == nonce))
    if challenge is None or challenge.key_hash != hash_key(key):
        raise NotFound(
            "challenge_not_found", "No liveness challenge with this nonce was issued to this key."
        )
    return challenge


def _used() -> Conflict:
    return Conflict("challenge_used", "This challenge was already answered; ask for a new one.")


def _expired() -> Gone:
    return Gone("challenge_expired", "This challenge has expired; ask for a new one.")


def read_burst(
    context: ServiceContext,
    frames: list[bytes],
    times_ms: Sequence[int] | None,
    actions: Sequence[Action],
) -> Burst:
    """One face per frame, in order, with its 68 landmarks where a turn needs them
    (`models.liveness_sequence.shaped_frames`; None elsewhere); refuses (422) a burst that cannot
    be judged: too few or too many frames (MIN_FRAMES to ROLLCALL_MAX_BURST_FRAMES for each
    action, the same number for each), capture times that do not fit it, a frame without one
    clear face."""
    limit = context.settings.max_burst_frames
    count = len(actions)
    if len(frames) > limit * count or parts_of(len(frames), count) is None:
        raise Unprocessable(
            "burst_size",
            f"This challenge's {count} action(s) need {MIN_FRAMES} to {limit} frames each "
            f"(ROLLCALL_MAX_BURST_FRAMES), the same number for each; got {len(frames)}.",
            frames=len(frames),
            actions=count,
        )
    if times_ms is not None:
        increasing = all(b > a for a, b in itertools.pairwise(times_ms))
        if (
            len(times_ms) != len(frames)
            or not increasing
            or times_ms[-1] - times_ms[0] > MAX_FRAME_MS
        ):
            raise Unprocessable(
                "frame_times",
                "Send one `frame_ms` per frame: capture times in ms, increasing, within a minute.",
                frames=len(frames),
                times=len(times_ms),
            )
    shaped = shaped_frames(len(frames), actions)
    faces: list[Face] = []
    shapes: list[np.ndarray | None] = []
    for index, frame in enumerate(frames):
        read = read_photo_faces(context.recognizer, frame)
        face = dominant_face(context.recognizer.embedder.embedded(read.faces, current_timer()))
        faces.append(face)
        if index not in shaped:  # a nod's frame: the 68 landmarks (and the model) not needed
            shapes.append(None)
            continue
        with current_timer().stage("landmarks"):
            shapes.append(face_shape().points(read.photo.pixels, face.box))
    return Burst(faces, shapes)


def recognised(context: ServiceContext, faces: list[Face]) -> int | None:
    """The enrolled student the burst's fused face is, under the gallery's threshold."""
    [match] = context.gallery.search(fused_face(context.recognizer, faces).embedding[None])
    if match.student_id is None or match.distance >= context.recognizer.identification_threshold():
        return None
    return match.student_id


def frame_distances(
    context: ServiceContext, faces: list[Face], student_id: int | None
) -> tuple[list[float], float]:
    """Each frame's distance to the person, and the threshold under which it is them: with a
    recognised student, to that student's enrolled templates (infinite for a frame nearer to
    another student); else to the burst's first frame, under the 1:1 threshold."""
    embeddings = np.stack([face.embedding for face in faces])
    if student_id is None:
        first = context.embedder.distances(embeddings[:1], embeddings)[0]
        return [float(d) for d in first], context.rule.verification_threshold()
    nearest = context.gallery.search(embeddings)
    own = context.gallery.search(embeddings, restrict_to=np.array([student_id]))
    distances = [
        float(mine.distance) if best.student_id == student_id else float("inf")
        for best, mine in zip(nearest, own, strict=True)
    ]
    return distances, FRAME_IDENTITY_SLACK * context.recognizer.identification_threshold()


def judge_burst(
    context: ServiceContext,
    burst: Burst,
    actions: tuple[Action, ...],
    times_ms: Sequence[int] | None,
    student_id: int | None = None,
) -> BurstJudgement:
    """Decide whether the frames' faces show one live person (`student_id`, when recognised:
    every frame must be them) doing `actions` in order."""
    faces = burst.faces
    distances, threshold = frame_distances(context, faces, student_id)
    result = assess_sequence(
        [face.landmarks for face in faces],
        distances,
        actions,
        same_person_threshold=threshold,
        times_ms=None if times_ms is None else [float(t) for t in times_ms],
        shapes=burst.shapes,
    )
    return BurstJudgement(actions, result, _most_frontal(faces), faces)


def _most_frontal(faces: list[Face]) -> Face:
    def off_centre(face: Face) -> float:
        position = nose_position(face.landmarks)
        return abs(float(position[0]) - 0.5) if position is not None else float("inf")

    return min(faces, key=off_centre)
