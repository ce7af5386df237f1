"""Marks in a session's register: corrections by hand, undoing a mark, and the append-only
trail of every change (check-ins included). A face check-in never overwrites a manual mark
(app.services.checkin keeps the manual one)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.domain import MarkSet
from app.core.errors import NotFound
from app.core.roles import Caller
from app.core.tables import (
    Attendance,
    AttendanceEvent,
    ClassSession,
    CourseStudent,
    Student,
    as_utc,
)
from app.services.sessions import get_class_session


class MarkState(Protocol):
    """What an event keeps of a mark: its status and source."""

    status: str
    source: str


def visible_session(
    db: Session, session_id: int, course_ids: frozenset[int] | None
) -> ClassSession:
    """The session, when a key seeing these courses (None: all) may see it: a teacher key is
    told that a session of another course does not exist (404), as for no session at all."""
    found = get_class_session(db, session_id)
    if course_ids is not None and found.course_id not in course_ids:
        raise NotFound("session_not_found", f"No class session with id {session_id}.")
    return found


def log_event(
    db: Session,
    caller: Caller,
    action: str,
    *,
    student_id: int,
    session_id: int | None,
    period: str,
    before: MarkState | None,
    after: MarkState | None,
    reason: str | None = None,
) -> AttendanceEvent:
    """Append one event (flushed, not committed): the mark before and after the change."""
    event = AttendanceEvent(
        created_at=dt.datetime.now(dt.UTC),
        student_id=student_id,
        session_id=session_id,
        period=period,
        action=action,
        key_id=caller.key_id,
        key_name=caller.key_name,
        before_status=before.status if before else None,
        before_source=before.source if before else None,
        after_status=after.status if after else None,
        after_source=after.source if after else None,
        reason=reason,
    )
    db.add(event)
    db.flush()
    return event


def log_checkin(db: Session, caller: Caller, row: Attendance) -> None:
    """A face check-in wrote a new mark."""
    log_event(
        db,
        caller,
        "checkin",
        student_id=row.student_id,
        session_id=row.session_id,
        period=row.period,
        before=None,
        after=row,
    )


def _mark_of(db: Session, student_id: int, period: str, *, lock: bool = False) -> Attendance | None:
    query = select(Attendance).where(
        Attendance.student_id == student_id, Attendance.period == period
    )
    return db.scalar(query.with_for_update() if lock else query)


def _expected_student(db: Session, class_session: ClassSession, student_id: int) -> Student:
    """The student, when a mark in this session may be theirs: on its course's roster (a
    session of no course: any student), or marked in it already. Else 404, as for no student."""
    student = db.get(Student, student_id)
    missing = NotFound(
        "student_not_found", f"No student with id {student_id} on this session's roster."
    )
    if student is None:
        raise missing
    if class_session.course_id is None:
        return student
    on_roster = db.get(CourseStudent, (class_session.course_id, student_id)) is not None
    if not on_roster and _mark_of(db, student_id, f"session:{class_session.id}") is None:
        raise missing
    return student


class _Before:
    """A mark's status and source as they were, before the row changes in place."""

    def __init__(self, row: Attendance) -> None:
        self.status, self.source = row.status, row.source


def set_mark(
    db: Session,
    caller: Caller,
    session_id: int,
    student_id: int,
    body: MarkSet,
    timezone: str,
) -> Attendance:
    """Set a student's status in a session by hand (source `manual`), keeping a check-in's
    time and similarity when there was one; committed with its event."""
    class_session = visible_session(db, session_id, caller.course_ids)
    _expected_student(db, class_session, student_id)
    period = f"session:{session_id}"
    row = _mark_of(db, student_id, period, lock=True)
    before = _Before(row) if row is not None else None
    if row is None:
        day = as_utc(class_session.starts_at).astimezone(ZoneInfo(timezone)).date()
        row = Attendance(student_id=student_id, session_id=session_id, period=period, day=day)
        try:
            with db.begin_nested():  # a check-in of the same student may have just written it
                _apply(row, body)
                db.add(row)
        except IntegrityError:
            row = _mark_of(db, student_id, period, lock=True)
            if row is None:
                raise
            before = _Before(row)
    _apply(row, body)
    db.flush()
    log_event(
        db,
        caller,
        "correction",
        student_id=student_id,
        session_id=session_id,
        period=period,
        before=before,
        after=row,
        reason=body.reason,
    )
    db.commit()
    db.refresh(row)
    return row


def _apply(row: Attendance, body: MarkSet) -> None:
    row.status, row.source, row.reason = body.status, "manual", body.reason
    row.late = body.status == "late"


def undo_mark(
    db: Session, caller: Caller, session_id: int, student_id: int, reason: str | None
) -> None:
    """Remove a student's mark in a session (a wrong check-in): they are absent again, with no
    mark, and a later check-in may mark them. Committed with its event."""
    visible_session(db, session_id, caller.course_ids)
    period = f"session:{session_id}"
    row = _mark_of(db, student_id, period, lock=True)
    if row is None:
        raise NotFound(
            "mark_not_found", f"Student {student_id} has no mark in session {session_id}."
        )
    log_event(
        db,
        caller,
        "undo",
        student_id=student_id,
        session_id=session_id,
        period=period,
        before=row,
        after=None,
        reason=reason,
    )
    db.delete(row)
    db.commit()


def history(db: Session, caller: Caller, session_id: int, student_id: int) -> list[AttendanceEvent]:
    """Every change to the student's mark in the session, oldest first."""
    class_session = visible_session(db, session_id, caller.course_ids)
    _expected_student_or_evented(db, class_session, student_id)
    return list(
        db.scalars(
            select(AttendanceEvent)
            .where(
                AttendanceEvent.session_id == session_id,
                AttendanceEvent.student_id == student_id,
            )
            .order_by(AttendanceEvent.id)
        )
    )


def _expected_student_or_evented(db: Session, class_session: ClassSession, student_id: int) -> None:
    """As `_expected_student`, also admitting a student whose mark was undone."""
    had_events = db.scalar(
        select(AttendanceEvent.id)
        .where(
            AttendanceEvent.session_id == class_session.id,
            AttendanceEvent.student_id == student_id,
        )
        .limit(1)
    )
    if had_events is None:
        _expected_student(db, class_session, student_id)


def session_events(db: Session, session_id: int) -> list[AttendanceEvent]:
    """Every change to any mark in the session, oldest first."""
    return list(
        db.scalars(
            select(AttendanceEvent)
            .where(AttendanceEvent.session_id == session_id)
            .order_by(AttendanceEvent.id)
        )
    )
