"""Liveness challenges: hand a kiosk a nonce and an action, then judge the burst it sends back."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.errors import Conflict, Gone, NotFound, Unprocessable
from app.services.photos import dominant_face, read_faces
from app.tables import LivenessChallenge
from models.embedder import Face
from models.liveness import Action, LivenessResult, assess, nose_position

# Long enough to read the prompt, turn and send 5 frames over a slow network; short enough
# that a nonce is of no use to anyone who saw it later.
CHALLENGE_SECONDS = 30
MIN_FRAMES = 2  # a turn needs a before and an after
MAX_FRAMES = 8  # the kiosk sends 5; more only costs detection time
# Challenges expired this long ago are deleted as new ones are issued, so the table holds about
# an hour of them; a nonce older than that answers `challenge_not_found`, still refused.
KEEP_EXPIRED = dt.timedelta(hours=1)


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


def issue(context: ServiceContext, db: Session) -> IssuedChallenge:
    now = dt.datetime.now(dt.UTC)
    db.execute(delete(LivenessChallenge).where(LivenessChallenge.expires_at < now - KEEP_EXPIRED))
    challenge = LivenessChallenge(
        nonce=secrets.token_urlsafe(24),
        action=secrets.choice(list(Action)).value,
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


def redeem(db: Session, nonce: str, now: dt.datetime) -> Action:
    """Use the nonce up and return its action; refuses unknown, used and expired nonces.

    One conditional UPDATE decides, so two workers handed the same nonce cannot both use it.
    It is committed at once: a failed burst must not be retried with the same nonce.
    """
    redeemed = db.execute(
        update(LivenessChallenge)
        .where(
            LivenessChallenge.nonce == nonce,
            LivenessChallenge.used_at.is_(None),
            LivenessChallenge.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount  # type: ignore[attr-defined]
    challenge = db.scalar(select(LivenessChallenge).where(LivenessChallenge.nonce == nonce))
    db.commit()
    if challenge is None:
        raise NotFound("challenge_not_found", "No liveness challenge has this nonce.")
    if redeemed == 1:
        return Action(challenge.action)
    if challenge.used_at is not None:
        raise Conflict("challenge_used", "This challenge was already answered; ask for a new one.")
    raise Gone("challenge_expired", "This challenge has expired; ask for a new one.")


def judge_burst(context: ServiceContext, frames: list[bytes], action: Action) -> BurstJudgement:
    """Read one face per frame and decide whether they show one live person doing `action`."""
    if not MIN_FRAMES <= len(frames) <= MAX_FRAMES:
        raise Unprocessable(
            "burst_size",
            f"A liveness check-in needs {MIN_FRAMES} to {MAX_FRAMES} frames; got {len(frames)}.",
            frames=len(frames),
        )
    faces = [dominant_face(read_faces(context, frame)) for frame in frames]
    embeddings = np.stack([face.embedding for face in faces])
    distances = context.embedder.distances(embeddings[:1], embeddings)[0]
    result = assess(
        [face.landmarks for face in faces],
        [float(d) for d in distances],
        action,
        same_person_threshold=context.rule.verification_threshold(),
    )
    return BurstJudgement(action, result, _most_frontal(faces), faces)


def _most_frontal(faces: list[Face]) -> Face:
    def off_centre(face: Face) -> float:
        position = nose_position(face.landmarks)
        return abs(float(position[0]) - 0.5) if position is not None else float("inf")

    return min(faces, key=off_centre)
