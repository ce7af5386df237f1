"""Check-in: 1:N against the whole gallery or the running sessions' rosters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.domain import Decision
from app.core.errors import Unprocessable
from app.core.roles import Caller, Role
from app.core.tables import (
    Attendance,
    CheckinAttempt,
    ClassSession,
    Student,
    as_utc,
)
from app.services import live_attempts, liveness, marks, thumbnails
from app.services.burst import burst_faces, fused_face
from app.services.current_session import RunningSessions, is_late, sessions_for
from app.services.identify import Identification, identify, scope_for
from models.embedder import Face
from models.liveness import Action, Verdict


def similarity(distance: float, threshold: float) -> float:
    """1 for identical faces, 0.5 exactly at the threshold, 0 at twice the threshold."""
    return round(float(np.clip(1.0 - distance / (2.0 * threshold), 0.0, 1.0)), 4)


def _existing_attendance(db: Session, student_id: int, period: str) -> Attendance | None:
    return db.scalar(
        select(Attendance).where(Attendance.student_id == student_id, Attendance.period == period)
    )


@dataclass
class FaceOutcome:
    """What a check-in decided for one face. A student only for a decision about them."""

    decision: Decision
    student: Student | None
    similarity: float | None
    distance: float | None
    threshold: float  # the one this face was decided with
    candidates: int  # enrolled students searched
    box: list[float]
    quality: float
    attendance_id: int | None = None  # present or already_present
    first_checkin_at: dt.datetime | None = None  # already_present: the first one
    late: bool = False
    # present or already_present: the mark the register holds; a manual one (e.g. excused) is
    # never overwritten by a check-in, which then answers already_present with it.
    status: str | None = None
    source: str | None = None
    runner_up: Student | None = None  # ambiguous, shown to an admin only
    frames: int = 1  # how many burst frames showed this face
    session_id: int | None = None  # the session the student was marked in
    # ambiguous_session: the running sessions whose rosters all hold the student (admin only)
    ambiguous_session_ids: list[int] | None = None
    new_mark: Attendance | None = None  # the row this check-in wrote (present), if any


@dataclass(frozen=True)
class LivenessShown:
    actions: tuple[Action, ...]
    verdict: Verdict
    turn: float
    spread: float
    largest_step: float | None = None  # the largest step's share of the turn
    span_ms: float | None = None  # first to last capture time, when the page sent them
    step: int | None = None  # the refused action's index in `actions`; None when live

    @property
    def action(self) -> Action:
        return self.actions[0]


@dataclass(frozen=True)
class CheckinResult:
    checked_at: dt.datetime
    day: dt.date
    class_session: ClassSession | None  # the one session every face counts for, if one
    faces: list[FaceOutcome]
    liveness: LivenessShown | None = None
    sessions_searched: int = 0  # 0: the calendar day; more than 1: parallel classes


def check_in(
    context: ServiceContext,
    db: Session,
    photos: list[bytes],
    class_session_id: int | None,
    nonce: str | None = None,
    *,
    key: str = "",
    frame_ms: list[int] | None = None,
    role: Role = Role.kiosk,
    caller: Caller | None = None,
) -> CheckinResult:
    """One photo or a burst of frames of one scene (every person in it is checked in once,
    their faces fused across frames), or, with a challenge's nonce, a burst of frames of one
    person that must pass the liveness check first (`key`: the kiosk's, which must be the one
    the challenge was issued to; `frame_ms`: each frame's capture time, when the page sends
    them). `role`, the key's: an admin is told whom an unmarked face resembles, and why a
    named session is refused; `caller`: the key, named in the marks' audit trail."""
    # Before the first query: on SQLite the write transaction holds the write lock from then.
    context.gallery_store.sync()
    if nonce is not None:
        return _check_in_live(
            context, db, photos, class_session_id, nonce, key, frame_ms, role, caller
        )
    if context.settings.liveness == "challenge":
        # Faces first: a kiosk learns an empty doorway (no_face) without prompting anybody to
        # turn their head, and asks a challenge only when a face is there.
        burst_faces(context.recognizer, photos)
        raise Unprocessable(
            "challenge_required",
            "This service checks liveness: ask POST /api/v1/checkins/challenge for a "
            "challenge, then send a burst of frames with its nonce.",
        )
    burst = burst_faces(context.recognizer, photos)  # refusals happen before anything is written
    keep = thumbnails.kept(context.settings, live=False)
    return _check_in_faces(
        context,
        db,
        burst.faces,
        class_session_id,
        frames=burst.frames,
        role=role,
        caller=caller,
        shown_in=[photos[i] for i in burst.shown_in] if keep else None,
    )


def _check_in_live(
    context: ServiceContext,
    db: Session,
    photos: list[bytes],
    class_session_id: int | None,
    nonce: str,
    key: str,
    frame_ms: list[int] | None,
    role: Role,
    caller: Caller | None,
) -> CheckinResult:
    """A burst of one person doing the challenge's action: checked in only when live. The
    nonce is spent once the burst can be judged: a refused burst (a frame without a face, too
    few frames) leaves it good for the next try."""
    asked = liveness.check(db, nonce, dt.datetime.now(dt.UTC), key)  # before detection's cost
    burst = liveness.read_burst(context, photos, frame_ms, asked)
    faces = burst.faces
    student_id = liveness.recognised(context, faces)
    now = dt.datetime.now(dt.UTC)
    running = sessions_for(context, db, class_session_id, now, role)
    live_attempts.refuse_if_exhausted(context, db, student_id, running.single, now)
    actions = liveness.redeem(db, nonce, dt.datetime.now(dt.UTC), key)
    judgement = liveness.judge_burst(context, burst, actions, frame_ms, student_id)
    step = judgement.result.shown
    moved = step.motion
    shown = LivenessShown(
        actions=judgement.actions,
        verdict=judgement.result.verdict,
        turn=round(step.turn, 4),
        spread=round(step.spread, 4),
        largest_step=round(moved.largest_share, 4)
        if moved and np.isfinite(moved.largest_share)
        else None,
        span_ms=moved.span_ms if moved else None,
        step=judgement.result.failed_step,
    )
    if not judgement.result.live:
        return _refuse_as_not_live(
            context, db, judgement.face, class_session_id, shown, role, student_id
        )
    # Live: the burst is one person; their frames' embeddings are fused as any burst's, and
    # the thumbnail is of the frame whose box the fused face keeps (the best-quality one).
    best = max(range(len(judgement.faces)), key=lambda i: judgement.faces[i].quality.score)
    return _check_in_faces(
        context,
        db,
        [fused_face(context.recognizer, judgement.faces)],
        class_session_id,
        shown,
        frames=[len(judgement.faces)],
        role=role,
        caller=caller,
        shown_in=[photos[best]] if thumbnails.kept(context.settings, live=True) else None,
    )


def _clock(context: ServiceContext) -> tuple[dt.datetime, dt.date]:
    """Now, and the school's calendar day it falls on."""
    now = dt.datetime.now(dt.UTC)
    return now, now.astimezone(ZoneInfo(context.settings.timezone)).date()


def _refuse_as_not_live(
    context: ServiceContext,
    db: Session,
    face: Face,
    class_session_id: int | None,
    shown: LivenessShown,
    role: Role,
    student_id: int | None,
) -> CheckinResult:
    """Log the attempt as `liveness_failed`, with the student the face was recognised as
    (counted against their attempts, never told to the kiosk); nobody is marked."""
    now, day = _clock(context)
    running = sessions_for(context, db, class_session_id, now, role)
    class_session = running.single
    db.add(
        CheckinAttempt(
            created_at=now,
            session_id=class_session.id if class_session else None,
            outcome="liveness_failed",
            best_student_id=student_id,
            box=[float(v) for v in face.box],
        )
    )
    db.commit()
    context.metrics.checkins.labels("liveness_failed").inc()
    refused = FaceOutcome(
        decision="liveness_failed",
        student=None,
        similarity=None,
        distance=None,
        threshold=context.recognizer.identification_threshold(),
        candidates=context.gallery.student_count,
        box=[round(float(v), 1) for v in face.box],
        quality=face.quality.score,
    )
    return CheckinResult(now, day, class_session, [refused], shown, len(running.sessions))


def _check_in_faces(
    context: ServiceContext,
    db: Session,
    faces: list[Face],
    class_session_id: int | None,
    shown: LivenessShown | None = None,
    *,
    frames: list[int],
    role: Role = Role.kiosk,
    caller: Caller | None = None,
    shown_in: list[bytes] | None = None,
) -> CheckinResult:
    """Search, decide and mark each face; `frames`: how many burst frames showed each one;
    `shown_in`: the photo each face's box is of, when thumbnails are kept."""
    now, day = _clock(context)
    running = sessions_for(context, db, class_session_id, now, role)
    scope = scope_for(context.recognizer, running)
    embeddings = np.stack([face.embedding for face in faces])
    found = identify(context.recognizer, db, embeddings, scope, frames)
    outcomes = [
        _mark(db, face, one, running, day, now, caller)
        for face, one in zip(faces, found, strict=True)
    ]
    for outcome, face, photo in zip(outcomes, faces, shown_in or [], strict=False):
        if outcome.new_mark is not None:
            jpeg = thumbnails.thumbnail(context, photo, [float(v) for v in face.box])
            thumbnails.keep(db, outcome.new_mark, jpeg, now)
    for outcome, count, one in zip(outcomes, frames, found, strict=True):
        outcome.frames = count
        if outcome.decision in ("ambiguous", "not_on_roster", "ambiguous_session"):
            _name_to_admins_only(db, outcome, one, role is Role.admin)
    db.commit()
    for outcome in outcomes:
        context.metrics.checkins.labels(outcome.decision).inc()
    return CheckinResult(
        now, day, running.single, outcomes, shown, sessions_searched=len(running.sessions)
    )


def _name_to_admins_only(
    db: Session, outcome: FaceOutcome, found: Identification, show: bool
) -> None:
    """An admin sees whom a face nobody was marked for resembles (for ambiguous, both
    students; for ambiguous_session, the sessions); a kiosk only the decision: naming a
    student it did not mark would tell whoever stands at the door who is enrolled, and
    naming the sessions, which classes run where."""
    if not show:
        outcome.student = None
        outcome.ambiguous_session_ids = None
        return
    if outcome.decision == "ambiguous":
        outcome.runner_up = (
            db.get(Student, found.match.runner_up_id) if found.match.runner_up_id else None
        )


def _mark(
    db: Session,
    face: Face,
    found: Identification,
    running: RunningSessions,
    day: dt.date,
    now: dt.datetime,
    caller: Caller | None = None,
) -> FaceOutcome:
    """Log the attempt and, for `present`, write the attendance row (flushed, not committed)."""
    decision, class_session, holders = _session_of(found, running)
    outcome, attempt = _log_attempt(db, face, found, decision, class_session, now)
    if decision == "ambiguous_session":
        outcome.ambiguous_session_ids = [s.id for s in holders]
    if outcome.decision == "present" and found.student is not None:
        row = _record_attendance(db, outcome, attempt, found.student, class_session, day, now)
        outcome.new_mark = row
        if row is not None and caller is not None:
            marks.log_checkin(db, caller, row)
    return outcome


def _session_of(
    found: Identification, running: RunningSessions
) -> tuple[Decision, ClassSession | None, list[ClassSession]]:
    """The face's decision and the session it counts for. With parallel sessions, a
    recognised student counts for the one whose roster holds them: on several of them,
    `ambiguous_session` (nobody knows which room they are in); on none (a non-member
    admitted by ROLLCALL_ADMIT_NON_MEMBERS), `not_on_roster`. Other faces count for none."""
    if not running.parallel:
        return found.decision, running.single, []
    if found.decision != "present" or found.student is None:
        return found.decision, None, []
    holders = running.holding(found.student.id)
    if len(holders) == 1:
        return "present", holders[0], holders
    return ("ambiguous_session" if holders else "not_on_roster"), None, holders


def _log_attempt(
    db: Session,
    face: Face,
    found: Identification,
    decision: Decision,
    class_session: ClassSession | None,
    now: dt.datetime,
) -> tuple[FaceOutcome, CheckinAttempt]:
    """The attempt, logged (flushed), and the face's outcome as decided."""
    match, student = found.match, found.student
    threshold = found.threshold
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
    # Never unknown or retry; ambiguous and not_on_roster only to an admin.
    named = decision in ("present", "ambiguous", "not_on_roster", "ambiguous_session")
    outcome = FaceOutcome(
        decision=decision,
        student=student if named else None,
        similarity=score,
        distance=round(match.distance, 4) if known else None,
        threshold=threshold,
        candidates=found.candidates,
        box=[round(float(v), 1) for v in face.box],
        quality=face.quality.score,
        session_id=class_session.id if class_session and decision == "present" else None,
    )
    return outcome, attempt


def _record_attendance(
    db: Session,
    outcome: FaceOutcome,
    attempt: CheckinAttempt,
    student: Student,
    class_session: ClassSession | None,
    day: dt.date,
    now: dt.datetime,
) -> Attendance | None:
    """Mark the student present (or late) for the period, and return the new row; or, when
    they already have a mark (a check-in's, or a manual one, which is never overwritten),
    answer `already_present` with that row and return None."""
    period = f"session:{class_session.id}" if class_session else f"day:{day.isoformat()}"
    row = Attendance(
        student_id=student.id,
        session_id=class_session.id if class_session else None,
        period=period,
        day=day,
        first_checkin_at=now,
        similarity=outcome.similarity,
        late=is_late(class_session, now),
        checkin_id=attempt.id,
    )
    row.status, row.source = ("late" if row.late else "present"), "face"
    try:
        # The unique (student, period) constraint decides races between kiosks.
        with db.begin_nested():
            db.add(row)
        outcome.attendance_id, outcome.late = row.id, row.late
        outcome.status, outcome.source = row.status, row.source
        return row
    except IntegrityError:
        existing = _existing_attendance(db, student.id, period)
        if existing is None:
            raise  # another integrity problem: not a repeat check-in
        outcome.decision = attempt.outcome = "already_present"
        outcome.attendance_id = existing.id
        first = existing.first_checkin_at
        outcome.first_checkin_at = as_utc(first) if first is not None else None
        outcome.late = existing.late
        outcome.status, outcome.source = existing.status, existing.source
        return None
