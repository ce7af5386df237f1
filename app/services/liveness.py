"""Liveness challenges: hand a kiosk a nonce and an action, then judge the burst it sends back."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.errors import Conflict, Gone, NotFound, Unprocessable
from app.core.tables import LivenessChallenge, as_utc
from app.services.keys import hash_key
from app.services.photos import dominant_face, read_faces
from models.embedder import Face
from models.liveness import Action, LivenessResult, assess, nose_position
from models.liveness_motion import MIN_FRAMES

# Long enough to read the prompt, turn and send 5 frames over a slow network; short enough
# that a nonce is of no use to anyone who saw it later.
CHALLENGE_SECONDS = 30
# Challenges expired this long ago are deleted as new ones are issued, so the table holds about
# an hour of them; a nonce older than that answers `challenge_not_found`, still refused.
KEEP_EXPIRED = dt.timedelta(hours=1)
MAX_FRAME_MS = 60_000  # capture times past a minute are no burst of one challenge


@dataclass(frozen=True)
class IssuedChallenge:
    nonce: str
    action: Action
    expires_in: int
    required: bool  # ROLLCALL_LIVENESS=challenge: check-ins without a nonce are refused


@dataclass(frozen=True)
class BurstJudgement:
    action: Action
    result: LivenessResult
    face: Face  # the most frontal frame's face: the answer shows its box
    faces: list[Face]  # every frame's: fused into the one searched in the gallery when live


def issue(context: ServiceContext, db: Session, key: str) -> IssuedChallenge:
    """A challenge for the kiosk presenting `key`: only that key can answer it."""
    now = dt.datetime.now(dt.UTC)
    db.execute(delete(LivenessChallenge).where(LivenessChallenge.expires_at < now - KEEP_EXPIRED))
    challenge = LivenessChallenge(
        nonce=secrets.token_urlsafe(24),
        action=secrets.choice(list(Action)).value,
        key_hash=hash_key(key),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=CHALLENGE_SECONDS),
    )
    db.add(challenge)
    db.commit()
    return IssuedChallenge(
        challenge.nonce,
        Action(challenge.action),
        CHALLENGE_SECONDS,
        context.settings.liveness == "challenge",
    )


def check(db: Session, nonce: str, now: dt.datetime, key: str) -> Action:
    """The nonce's action if `key` may still answer it; refuses as `redeem` does, spending
    nothing, so that a burst refused before it is judged (no face in a frame) costs no nonce."""
    challenge = _challenge_of(db, nonce, key)
    if challenge.used_at is not None:
        raise _used()
    if as_utc(challenge.expires_at) <= now:
        raise _expired()
    return Action(challenge.action)


def redeem(db: Session, nonce: str, now: dt.datetime, key: str) -> Action:
    """Use the nonce up and return its action; refuses unknown, used and expired nonces and
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
        return Action(challenge.action)
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
    context: ServiceContext, frames: list[bytes], times_ms: Sequence[int] | None
) -> list[Face]:
    """One face per frame, in order; refuses (422) a burst that cannot be judged: too few or
    too many frames (ROLLCALL_MAX_BURST_FRAMES), capture times that do not fit it, a frame
    without one clear face."""
    limit = context.settings.max_burst_frames
    if not MIN_FRAMES <= len(frames) <= limit:
        raise Unprocessable(
            "burst_size",
            f"A liveness check-in needs {MIN_FRAMES} to {limit} frames "
            f"(ROLLCALL_MAX_BURST_FRAMES); got {len(frames)}.",
            frames=len(frames),
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
    return [dominant_face(read_faces(context.recognizer, frame)) for frame in frames]


def judge_burst(
    context: ServiceContext, faces: list[Face], action: Action, times_ms: Sequence[int] | None
) -> BurstJudgement:
    """Decide whether the frames' faces show one live person doing `action`."""
    embeddings = np.stack([face.embedding for face in faces])
    distances = context.embedder.distances(embeddings[:1], embeddings)[0]
    result = assess(
        [face.landmarks for face in faces],
        [float(d) for d in distances],
        action,
        same_person_threshold=context.rule.verification_threshold(),
        times_ms=None if times_ms is None else [float(t) for t in times_ms],
    )
    return BurstJudgement(action, result, _most_frontal(faces), faces)


def _most_frontal(faces: list[Face]) -> Face:
    def off_centre(face: Face) -> float:
        position = nose_position(face.landmarks)
        return abs(float(position[0]) - 0.5) if position is not None else float("inf")

    return min(faces, key=off_centre)
