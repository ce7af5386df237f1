"""Check-in (1:N against the whole gallery) and verification (1:1 against one student)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.errors import NotFound, Unprocessable
from app.gallery import GalleryMatch
from app.observability import current_timer
from app.schemas import (
    CheckinFace,
    CheckinOut,
    Decision,
    LivenessOut,
    SessionRef,
    StudentRef,
    VerifyOut,
)
from app.services import liveness
from app.services.photos import dominant_face, read_faces
from app.tables import (
    Attendance,
    CheckinAttempt,
    ClassSession,
    FaceTemplate,
    Student,
    embedding_from_bytes,
)
from models.embedder import Face
from models.identification import decide


def similarity(distance: float, threshold: float) -> float:
    """1 for identical faces, 0.5 exactly at the threshold, 0 at twice the threshold."""
    return round(float(np.clip(1.0 - distance / (2.0 * threshold), 0.0, 1.0)), 4)


def _session_for(session: Session, session_id: int | None, now: dt.datetime) -> ClassSession | None:
    if session_id is not None:
        class_session = session.get(ClassSession, session_id, with_for_update={"key_share": True})
        if class_session is None:
            raise NotFound("session_not_found", f"No class session with id {session_id}.")
        return class_session
    # Outside an explicit session: the session in progress, else the calendar day.
    return session.scalars(
        select(ClassSession)
        .where(ClassSession.starts_at <= now, ClassSession.ends_at >= now)
        .order_by(ClassSession.starts_at.desc())
        .limit(1)
        .with_for_update(key_share=True)
    ).first()


def _attendance_exists(session: Session, student_id: int, period: str) -> bool:
    return (
        session.scalar(
            select(Attendance.id).where(
                Attendance.student_id == student_id, Attendance.period == period
            )
        )
        is not None
    )


def check_in(
    context: ServiceContext,
    session: Session,
    photos: list[bytes],
    session_id: int | None,
    nonce: str | None = None,
) -> CheckinOut:
    """One photo (every face in it is checked in), or, with a challenge's nonce, a burst of
    frames of one person that must pass the liveness check first."""
    # Before the first query: on SQLite the write transaction holds the write lock from then.
    context.gallery_store.sync()
    if nonce is None:
        if context.settings.liveness == "challenge":
            raise Unprocessable(
                "challenge_required",
                "This service checks liveness: ask POST /api/v1/checkins/challenge for a "
                "challenge, then send a burst of frames with its nonce.",
            )
        if len(photos) != 1:
            raise Unprocessable(
                "several_files", "Send one photo, or a burst of frames with a challenge nonce."
            )
        # Refusals happen before anything is written.
        return _check_in_faces(context, session, read_faces(context, photos[0]), session_id)
    action = liveness.redeem(session, nonce, dt.datetime.now(dt.UTC))
    judgement = liveness.judge_burst(context, photos, action)
    shown = LivenessOut(
        action=judgement.action,
        verdict=judgement.result.verdict,
        turn=round(judgement.result.turn, 4),
        spread=round(judgement.result.spread, 4),
    )
    if not judgement.result.live:
        return _refuse_as_not_live(context, session, judgement.face, session_id, shown)
    return _check_in_faces(context, session, [judgement.face], session_id, shown)


def _refuse_as_not_live(
    context: ServiceContext,
    session: Session,
    face: Face,
    session_id: int | None,
    shown: LivenessOut,
) -> CheckinOut:
    """Log the attempt as `liveness_failed`; nobody is marked."""
    now = dt.datetime.now(dt.UTC)
    day = now.astimezone(ZoneInfo(context.settings.timezone)).date()
    class_session = _session_for(session, session_id, now)
    session.add(
        CheckinAttempt(
            created_at=now,
            session_id=class_session.id if class_session else None,
            outcome="liveness_failed",
            box=[float(v) for v in face.box],
        )
    )
    session.commit()
    context.metrics.checkins.labels("liveness_failed").inc()
    return CheckinOut(
        checked_at=now,
        day=day,
        session=SessionRef.model_validate(class_session) if class_session else None,
        faces=[
            CheckinFace(
                decision="liveness_failed",
                student=None,
                similarity=None,
                distance=None,
                threshold=context.identification_threshold(),
                candidates=context.gallery.student_count,
                box=[round(float(v), 1) for v in face.box],
                quality=face.quality.score,
            )
        ],
        liveness=shown,
    )


def _check_in_faces(
    context: ServiceContext,
    session: Session,
    faces: list[Face],
    session_id: int | None,
    shown: LivenessOut | None = None,
) -> CheckinOut:
    now = dt.datetime.now(dt.UTC)
    day = now.astimezone(ZoneInfo(context.settings.timezone)).date()
    class_session = _session_for(session, session_id, now)
    period = f"session:{class_session.id}" if class_session else f"day:{day.isoformat()}"
    # Read once: the answer's threshold and candidate count must describe the same gallery.
    candidates = context.gallery.student_count
    threshold = context.rule.identification_threshold(candidates)
    with current_timer().stage("search"):
        matches = context.gallery.search(np.stack([face.embedding for face in faces]))

    answers: list[CheckinFace] = []
    for face, match in zip(faces, matches, strict=True):
        # A student deleted or deactivated since the gallery was loaded is nobody to mark
        # present. FOR KEY SHARE (PostgreSQL) keeps them from being deleted until we commit.
        student = (
            session.get(Student, match.student_id, with_for_update={"key_share": True})
            if match.student_id
            else None
        )
        if match.student_id is not None and (student is None or not student.active):
            student = None
            match = GalleryMatch(None, float("inf"), None, float("inf"))
        decision: Decision = decide(
            match.distance, match.runner_up_distance, threshold, context.rule.margin
        )
        known = student is not None
        score = similarity(match.distance, threshold) if known else None
        attempt = CheckinAttempt(
            created_at=now,
            session_id=class_session.id if class_session else None,
            outcome=decision,
            best_student_id=match.student_id,
            distance=round(match.distance, 6) if known else None,
            similarity=score,
            box=[float(v) for v in face.box],
        )
        session.add(attempt)
        session.flush()
        attendance_id = None
        if decision == "present":
            row = Attendance(
                student_id=match.student_id,
                session_id=class_session.id if class_session else None,
                period=period,
                day=day,
                first_checkin_at=now,
                similarity=score,
                checkin_id=attempt.id,
            )
            try:
                # The unique (student, period) constraint decides races between kiosks.
                with session.begin_nested():
                    session.add(row)
                attendance_id = row.id
            except IntegrityError:
                if not _attendance_exists(session, row.student_id, period):
                    raise  # another integrity problem: not a repeat check-in
                decision = attempt.outcome = "already_present"
        answers.append(
            CheckinFace(
                decision=decision,
                student=StudentRef.model_validate(student)
                if student and decision != "unknown"
                else None,
                similarity=score,
                distance=round(match.distance, 4) if known else None,
                threshold=threshold,
                candidates=candidates,
                box=[round(float(v), 1) for v in face.box],
                quality=face.quality.score,
                attendance_id=attendance_id,
            )
        )
    session.commit()
    for answer in answers:
        context.metrics.checkins.labels(answer.decision).inc()
    return CheckinOut(
        checked_at=now,
        day=day,
        session=SessionRef.model_validate(class_session) if class_session else None,
        faces=answers,
        liveness=shown,
    )


def verify(context: ServiceContext, session: Session, student_id: int, data: bytes) -> VerifyOut:
    face = dominant_face(read_faces(context, data))  # before any query, as in check_in
    student = session.get(Student, student_id)
    if student is None or not student.active:  # as check-in: a deactivated student is no one
        raise NotFound("student_not_found", f"No active student with id {student_id}.")
    templates = [
        embedding_from_bytes(t.embedding)
        for t in session.scalars(select(FaceTemplate).where(FaceTemplate.student_id == student_id))
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
    return VerifyOut(
        match=match,
        student=StudentRef.model_validate(student) if match else None,  # no name to a stranger
        similarity=similarity(distance, threshold),
        distance=round(distance, 4),
        threshold=threshold,
        box=[round(float(v), 1) for v in face.box],
    )
