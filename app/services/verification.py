"""1:1 verification as each role may see it (one kiosk key scanned 59 student ids
with one photo in 24 s, reading each one's distance, and told "no such student" from "not
enrolled").

To a kiosk a verify is a yes or a no: a non-match carries no distance, similarity or box,
and a student who does not exist, is inactive or is not enrolled is a plain non-match (the
photo is read first either way, so the time taken tells nothing either). Each kiosk key may
have `max_verify_failures` non-matches per window; past that it is answered 429. An admin
sees everything, as before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.errors import NotFound, TooManyRequests, Unprocessable
from app.core.roles import Role
from app.core.tables import FaceTemplate, Student, embedding_from_bytes
from app.services.checkin import similarity
from app.services.photos import dominant_face, read_faces

# A kiosk is told a plain non-match instead of these refusals.
_NOBODY_TO_MATCH = ("student_not_found", "not_enrolled")


@dataclass(frozen=True)
class VerifyAnswer:
    match: bool
    student: Student | None  # only on a match
    threshold: float
    similarity: float | None = None  # None: not shown (a kiosk's non-match)
    distance: float | None = None
    box: list[float] | None = None


def _key_id(key: str | None) -> str:
    return "verify:" + hashlib.sha256((key or "").encode()).hexdigest()[:32]


def verify_as(
    context: ServiceContext,
    db: Session,
    student_id: int,
    data: bytes,
    role: Role,
    key: str | None,
) -> VerifyAnswer:
    if role is Role.admin:
        found = verify(context, db, student_id, data)
        return VerifyAnswer(
            found.match, found.student, found.threshold, found.similarity, found.distance, found.box
        )
    throttle, kiosk = context.verify_throttle, _key_id(key)
    wait = throttle.retry_after(kiosk, None)
    if wait is not None:
        raise TooManyRequests(
            "too_many_verify_failures",
            f"Too many verifications that did not match from this key; try again in {wait} s.",
            retry_after=wait,
        )
    threshold = context.rule.verification_threshold()
    try:
        found = verify(context, db, student_id, data)
    except (NotFound, Unprocessable) as exc:
        if exc.code not in _NOBODY_TO_MATCH:
            raise  # the photo's own refusals (no face, several faces...) stay as they are
        throttle.failed(kiosk)
        return VerifyAnswer(False, None, threshold)
    if not found.match:
        throttle.failed(kiosk)
        return VerifyAnswer(False, None, found.threshold)
    return VerifyAnswer(
        True, found.student, found.threshold, found.similarity, found.distance, found.box
    )


@dataclass(frozen=True)
class Verification:
    match: bool
    student: Student | None  # only when the face matches: no name to a stranger
    similarity: float
    distance: float
    threshold: float
    box: list[float]


def verify(context: ServiceContext, db: Session, student_id: int, data: bytes) -> Verification:
    face = dominant_face(read_faces(context.recognizer, data))  # before any query, as in check_in
    student = db.get(Student, student_id)
    if student is None or not student.active:  # as check-in: a deactivated student is no one
        raise NotFound("student_not_found", f"No active student with id {student_id}.")
    templates = [
        embedding_from_bytes(t.embedding)
        for t in db.scalars(select(FaceTemplate).where(FaceTemplate.student_id == student_id))
        if t.weights_version == context.embedder.version
    ]
    if not templates:
        raise Unprocessable(
            "not_enrolled",
            f"Student {student_id} has no enrolled face for the current model; "
            "enroll a photo first.",
        )
    distance = float(context.embedder.distances(face.embedding[None], np.stack(templates)).min())
    threshold = context.rule.verification_threshold()
    match = distance < threshold
    return Verification(
        match=match,
        student=student if match else None,
        similarity=similarity(distance, threshold),
        distance=round(distance, 4),
        threshold=threshold,
        box=[round(float(v), 1) for v in face.box],
    )
