"""Class sessions: created, changed, deleted, found and listed (the check-in's own session
lookup is in current_session)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.core.domain import SessionCreate, SessionState, SessionUpdate
from app.core.errors import Conflict, Unprocessable
from app.core.tables import Attendance, AttendanceEvent, CheckinAttempt, ClassSession, as_utc
from app.services.courses import get_course
from app.services.rows import get_or_404


@dataclass(frozen=True)
class SessionPage:
    items: list[ClassSession]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class SessionFilters:
    """What GET /sessions narrows to; dates are the school's calendar days (its zone)."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    course_id: int | None = None
    state: SessionState | None = None
    series_id: int | None = None


def create_class_session(db: Session, body: SessionCreate) -> ClassSession:
    if body.course_id is not None:
        get_course(db, body.course_id)
    class_session = ClassSession(
        name=body.name,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        course_id=body.course_id,
        grace_minutes=body.grace_minutes,
    )
    db.add(class_session)
    db.commit()
    return class_session


def get_class_session(db: Session, class_session_id: int, *, lock: bool = False) -> ClassSession:
    return get_or_404(
        db,
        ClassSession,
        class_session_id,
        "session_not_found",
        f"No class session with id {class_session_id}.",
        with_for_update={} if lock else None,
    )


def update_class_session(db: Session, class_session_id: int, body: SessionUpdate) -> ClassSession:
    """Change what was sent; the times are checked together with the stored ones."""
    class_session = get_class_session(db, class_session_id, lock=True)
    apply_changes(db, class_session, body.model_dump(exclude_unset=True))
    db.commit()
    return class_session


def apply_changes(db: Session, class_session: ClassSession, changes: dict[str, object]) -> None:
    """Set these fields on the session (not committed); refuses an unknown course and times
    that would end before they start."""
    if changes.get("course_id") is not None:
        get_course(db, int(changes["course_id"]))  # type: ignore[call-overload]
    for name, value in changes.items():
        setattr(class_session, name, value)
    if as_utc(class_session.ends_at) <= as_utc(class_session.starts_at):
        raise Unprocessable(
            "invalid_session_times",
            "ends_at must be after starts_at (with the session's stored times); the session "
            "was not changed.",
        )


def marks_in(db: Session, class_session_ids: list[int]) -> int:
    """How many attendance marks these sessions hold."""
    if not class_session_ids:
        return 0
    count = select(func.count()).where(Attendance.session_id.in_(class_session_ids))
    return db.scalar(count) or 0


def delete_class_session(db: Session, class_session_id: int, *, force: bool = False) -> int:
    """Delete the session; one holding attendance marks only with `force`, which deletes the
    marks too. The check-in attempts stay, as attempts of no session. How many marks went."""
    class_session = get_class_session(db, class_session_id, lock=True)
    marks = marks_in(db, [class_session_id])
    if marks and not force:
        raise Conflict(
            "session_has_attendance",
            f"Class session {class_session_id} holds {marks} attendance mark(s); send "
            "?force=true to delete them with it.",
            marks=marks,
        )
    remove_sessions(db, [class_session.id])
    db.commit()
    return marks


def remove_sessions(db: Session, class_session_ids: list[int]) -> None:
    """Delete these sessions and their marks (not committed). Explicit, not left to the
    foreign keys' cascades: SQLite files made before they were switched on lack them."""
    if not class_session_ids:
        return
    db.execute(delete(AttendanceEvent).where(AttendanceEvent.session_id.in_(class_session_ids)))
    db.execute(delete(Attendance).where(Attendance.session_id.in_(class_session_ids)))
    db.execute(
        update(CheckinAttempt)
        .where(CheckinAttempt.session_id.in_(class_session_ids))
        .values(session_id=None)
    )
    db.execute(delete(ClassSession).where(ClassSession.id.in_(class_session_ids)))


def list_class_sessions(
    db: Session,
    filters: SessionFilters,
    limit: int,
    offset: int,
    *,
    timezone: str,
    now: dt.datetime | None = None,
    course_ids: frozenset[int] | None = None,
    in_time_order: bool = False,
) -> SessionPage:
    """A page of sessions: those in progress first, then the newest first (`in_time_order`:
    the oldest first, as a week reads); `course_ids`: only these courses' sessions (a
    teacher's; None: every session)."""
    now = now or dt.datetime.now(dt.UTC)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise Unprocessable(
            "empty_date_range",
            f"The range starts ({filters.date_from}) after it ends ({filters.date_to}).",
        )
    if filters.course_id is not None:
        get_course(db, filters.course_id)
    conditions = _conditions(filters, now, ZoneInfo(timezone))
    if course_ids is not None:
        conditions.append(ClassSession.course_id.in_(sorted(course_ids)))
    query = select(ClassSession).where(*conditions)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    running = case((in_progress(now), 0), else_=1)
    if in_time_order:
        ordered = query.order_by(running, ClassSession.starts_at, ClassSession.id)
    else:
        ordered = query.order_by(running, ClassSession.starts_at.desc(), ClassSession.id.desc())
    items = list(db.scalars(ordered.limit(limit).offset(offset)))
    return SessionPage(items, total, limit, offset)


def in_progress(now: dt.datetime) -> ColumnElement[bool]:
    """A session running at `now` (begun, not yet over), in SQL."""
    return (ClassSession.starts_at <= now) & (ClassSession.ends_at >= now)


def _conditions(
    filters: SessionFilters, now: dt.datetime, zone: ZoneInfo
) -> list[ColumnElement[bool]]:
    """A session is in a date range when it starts on one of its days (the school's zone)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.date_from is not None:
        conditions.append(ClassSession.starts_at >= midnight(filters.date_from, zone))
    if filters.date_to is not None:
        next_day = filters.date_to + dt.timedelta(days=1)
        conditions.append(ClassSession.starts_at < midnight(next_day, zone))
    if filters.course_id is not None:
        conditions.append(ClassSession.course_id == filters.course_id)
    if filters.series_id is not None:
        conditions.append(ClassSession.series_id == filters.series_id)
    if filters.state == "upcoming":
        conditions.append(ClassSession.starts_at > now)
    elif filters.state == "in_progress":
        conditions.append(in_progress(now))
    elif filters.state == "ended":
        conditions.append(ClassSession.ends_at < now)
    return conditions


def midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The instant (UTC) a day of the school's zone begins."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
