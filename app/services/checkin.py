"""Check-in (1:N against the whole gallery) and verification (1:1 against one student)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.errors import Conflict, NotFound, Unprocessable
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
from app.services.burst import burst_faces, fused_face
from app.services.identify import Identification, SearchScope, identify, scope_for
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


def similarity(distance: float, threshold: float) -> float:
    """1 for identical faces, 0.5 exactly at the threshold, 0 at twice the threshold."""
    return round(float(np.clip(1.0 - distance / (2.0 * threshold), 0.0, 1.0)), 4)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value  # SQLite: naive


def _session_for(
    context: ServiceContext, db: Session, session_id: int | None, now: dt.datetime
) -> ClassSession | None:
    """The session a check-in counts for: the one named, if it is open now; else the one in
    progress; else none (the calendar day). Refusals come before anything is written."""
    if session_id is not None:
        class_session = db.get(ClassSession, session_id, with_for_update={"key_share": True})
        if class_session is None:
            raise NotFound("session_not_found", f"No class session with id {session_id}.")
        _refuse_closed(context, class_session, now)
        return class_session
    running = list(
        db.scalars(
            select(ClassSession)
            .where(ClassSession.starts_at <= now, ClassSession.ends_at >= now)
            .order_by(ClassSession.starts_at.desc(), ClassSession.id)
            .limit(3)
            .with_for_update(key_share=True)
        )
    )
    if len(running) > 1:
        names = ", ".join(f"{s.id} ({s.name})" for s in running[:2])
        raise Conflict(
            "ambiguous_session",
            f"Several class sessions are in progress ({names}); send the session_id of the "
            "one to check in to.",
            session_ids=[s.id for s in running],
        )
    return running[0] if running else None


def _refuse_closed(context: ServiceContext, class_session: ClassSession, now: dt.datetime) -> None:
    early = context.settings.checkin_early_minutes
    starts, ends = _as_utc(class_session.starts_at), _as_utc(class_session.ends_at)
    opens = starts - dt.timedelta(minutes=early)
    if now < opens:
        raise Conflict(
            "session_not_started",
            f"Class session {class_session.id} starts at {starts:%Y-%m-%d %H:%M} UTC; "
            f"check-ins open {early} minutes before.",
            starts_at=starts.isoformat(),
            opens_at=opens.isoformat(),
        )
    if now > ends:
        raise Conflict(
            "session_ended",
            f"Class session {class_session.id} ended at {ends:%Y-%m-%d %H:%M} UTC.",
            ends_at=ends.isoformat(),
        )


def _is_late(class_session: ClassSession | None, now: dt.datetime) -> bool:
    if class_session is None or class_session.grace_minutes is None:
        return False
    grace = dt.timedelta(minutes=class_session.grace_minutes)
    return now > _as_utc(class_session.starts_at) + grace


def _existing_attendance(db: Session, student_id: int, period: str) -> Attendance | None:
    return db.scalar(
        select(Attendance).where(Attendance.student_id == student_id, Attendance.period == period)
    )


def check_in(
    context: ServiceContext,
    session: Session,
    photos: list[bytes],
    session_id: int | None,
    nonce: str | None = None,
    *,
    name_ambiguous: bool = False,
) -> CheckinOut:
    """One photo or a burst of frames of one scene (every person in it is checked in once,
    their faces fused across frames), or, with a challenge's nonce, a burst of frames of one
    person that must pass the liveness check first."""
    # Before the first query: on SQLite the write transaction holds the write lock from then.
    context.gallery_store.sync()
    if nonce is None:
        if context.settings.liveness == "challenge":
            raise Unprocessable(
                "challenge_required",
                "This service checks liveness: ask POST /api/v1/checkins/challenge for a "
                "challenge, then send a burst of frames with its nonce.",
            )
        # Refusals happen before anything is written.
        burst = burst_faces(context, photos)
        return _check_in_faces(
            context,
            session,
            burst.faces,
            session_id,
            frames=burst.frames,
            name_ambiguous=name_ambiguous,
        )
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
    # Live: the burst is one person; their frames' embeddings are fused as any burst's.
    return _check_in_faces(
        context,
        session,
        [fused_face(context, judgement.faces)],
        session_id,
        shown,
        frames=[len(judgement.faces)],
        name_ambiguous=name_ambiguous,
    )


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
    class_session = _session_for(context, session, session_id, now)
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
    db: Session,
    faces: list[Face],
    session_id: int | None,
    shown: LivenessOut | None = None,
    *,
    frames: list[int] | None = None,
    name_ambiguous: bool = False,
) -> CheckinOut:
    """Search, decide and mark each face; `frames`: how many burst frames showed each one."""
    now = dt.datetime.now(dt.UTC)
    day = now.astimezone(ZoneInfo(context.settings.timezone)).date()
    class_session = _session_for(context, db, session_id, now)
    scope = scope_for(context, db, class_session)
    found = identify(context, db, np.stack([face.embedding for face in faces]), scope)
    answers = [
        _mark(context, db, face, one, scope, class_session, day, now)
        for face, one in zip(faces, found, strict=True)
    ]
    for answer, count in zip(answers, frames or [1] * len(answers), strict=True):
        answer.frames = count
    for answer, one in zip(answers, found, strict=True):
        if answer.decision == "ambiguous":
            _name_both_or_neither(db, answer, one, name_ambiguous)
    db.commit()
    for answer in answers:
        context.metrics.checkins.labels(answer.decision).inc()
    return CheckinOut(
        checked_at=now,
        day=day,
        session=SessionRef.model_validate(class_session) if class_session else None,
        faces=answers,
        liveness=shown,
    )


def _name_both_or_neither(
    db: Session, answer: CheckinFace, found: Identification, show: bool
) -> None:
    """An admin sees the two students a face could not be told apart from; a kiosk, only
    that it was ambiguous (naming either would tell a stranger who is enrolled)."""
    if not show:
        answer.student = None
        return
    other = db.get(Student, found.match.runner_up_id) if found.match.runner_up_id else None
    answer.runner_up = StudentRef.model_validate(other) if other else None


def _mark(
    context: ServiceContext,
    db: Session,
    face: Face,
    found: Identification,
    scope: SearchScope,
    class_session: ClassSession | None,
    day: dt.date,
    now: dt.datetime,
) -> CheckinFace:
    """Log the attempt and, for `present`, write the attendance row (flushed, not committed)."""
    match, student = found.match, found.student
    decision: Decision = found.decision
    threshold = scope.threshold
    if decision == "not_on_roster":  # matched in the whole gallery, with its threshold
        threshold = context.rule.identification_threshold(context.gallery.student_count)
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
    db.add(attempt)
    db.flush()
    answer = CheckinFace(
        decision=decision,
        # A name only for a decision about that student: never for unknown or retry.
        student=StudentRef.model_validate(student)
        if student and decision in ("present", "ambiguous", "not_on_roster")
        else None,
        similarity=score,
        distance=round(match.distance, 4) if known else None,
        threshold=threshold,
        candidates=scope.candidates,
        box=[round(float(v), 1) for v in face.box],
        quality=face.quality.score,
    )
    if decision != "present" or student is None:
        return answer
    period = f"session:{class_session.id}" if class_session else f"day:{day.isoformat()}"
    row = Attendance(
        student_id=student.id,
        session_id=class_session.id if class_session else None,
        period=period,
        day=day,
        first_checkin_at=now,
        similarity=score,
        late=_is_late(class_session, now),
        checkin_id=attempt.id,
    )
    try:
        # The unique (student, period) constraint decides races between kiosks.
        with db.begin_nested():
            db.add(row)
        answer.attendance_id, answer.late = row.id, row.late
    except IntegrityError:
        existing = _existing_attendance(db, student.id, period)
        if existing is None:
            raise  # another integrity problem: not a repeat check-in
        answer.decision = attempt.outcome = "already_present"
        answer.attendance_id = existing.id
        answer.first_checkin_at = _as_utc(existing.first_checkin_at)
        answer.late = existing.late
    return answer


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
