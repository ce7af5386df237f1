"""The timetable a check-in counts for: which class sessions, whether one is open, and late.

A check-in names a session, which must be open now, or counts for every session in progress:
parallel classes share one door, so each face is marked in the running session whose roster
holds that student (`RunningSessions.holding`). None in progress: the calendar day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.errors import Conflict, NotFound
from app.core.roles import Role
from app.core.tables import ClassSession, CourseStudent, as_utc
from app.services.rows import get_or_404


@dataclass(frozen=True)
class RunningSessions:
    """The sessions a check-in searches: the one named, or those in progress (none: the day).

    `members`: each course's roster among them; a session of no course expects everyone."""

    sessions: list[ClassSession]
    members: dict[int, frozenset[int]] = field(default_factory=dict)

    @property
    def single(self) -> ClassSession | None:
        """The session every face counts for, when there is exactly one."""
        return self.sessions[0] if len(self.sessions) == 1 else None

    @property
    def parallel(self) -> bool:
        return len(self.sessions) > 1

    @property
    def whole_gallery(self) -> bool:
        """Whether the search is the whole gallery's: no session, or one of no course."""
        return not self.sessions or any(s.course_id is None for s in self.sessions)

    def roster(self) -> set[int]:
        """The union of the courses' rosters (meaningful unless `whole_gallery`)."""
        return set().union(*self.members.values())

    def holding(self, student_id: int) -> list[ClassSession]:
        """The sessions whose roster holds this student (a session of no course: all)."""
        return [
            s
            for s in self.sessions
            if s.course_id is None or student_id in self.members.get(s.course_id, frozenset())
        ]


def sessions_for(
    context: ServiceContext,
    db: Session,
    class_session_id: int | None,
    now: dt.datetime,
    role: Role = Role.kiosk,
) -> RunningSessions:
    """The sessions a check-in counts for: the one named, if it is open now; else those in
    progress, with their rosters. Refusals come before anything is written; to any `role` but
    admin, a named session that is missing or not open is one 409 `session_not_open`. FOR KEY
    SHARE (PostgreSQL): a session cannot be deleted while it is being marked."""
    if class_session_id is not None:
        running = [_open_session(context, db, class_session_id, now, role)]
    else:
        running = list(
            db.scalars(
                select(ClassSession)
                .where(ClassSession.starts_at <= now, ClassSession.ends_at >= now)
                .order_by(ClassSession.starts_at.desc(), ClassSession.id)
                .with_for_update(key_share=True)
            )
        )
    return RunningSessions(running, _members(db, running))


def _open_session(
    context: ServiceContext, db: Session, class_session_id: int, now: dt.datetime, role: Role
) -> ClassSession:
    try:
        class_session = get_or_404(
            db,
            ClassSession,
            class_session_id,
            "session_not_found",
            f"No class session with id {class_session_id}.",
            with_for_update={"key_share": True},
        )
        _refuse_closed(context, class_session, now)
    except (NotFound, Conflict):
        if role is Role.admin:
            raise
        raise Conflict(
            "session_not_open",
            f"Class session {class_session_id} does not take check-ins now: check in "
            "without a session, or give the number of the one that runs now.",
        ) from None
    return class_session


def _members(db: Session, running: list[ClassSession]) -> dict[int, frozenset[int]]:
    """Each running course's roster, read in one query."""
    course_ids = {s.course_id for s in running if s.course_id is not None}
    if not course_ids:
        return {}
    members: dict[int, set[int]] = {course_id: set() for course_id in course_ids}
    rows = db.execute(
        select(CourseStudent.course_id, CourseStudent.student_id).where(
            CourseStudent.course_id.in_(course_ids)
        )
    )
    for course_id, student_id in rows:
        members[course_id].add(student_id)
    return {course_id: frozenset(ids) for course_id, ids in members.items()}


def _refuse_closed(context: ServiceContext, class_session: ClassSession, now: dt.datetime) -> None:
    early = context.settings.checkin_early_minutes
    starts, ends = as_utc(class_session.starts_at), as_utc(class_session.ends_at)
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
            f"Class session {class_session.id} ended at {ends:%Y-%m-%d %H:%M} UTC: check in "
            "without a session (the day's attendance), or for a session that runs now "
            "(POST /api/v1/sessions makes one; the kiosk: sign out and give its number).",
            ends_at=ends.isoformat(),
        )


def is_late(class_session: ClassSession | None, now: dt.datetime) -> bool:
    """After the session's start plus its grace period (a session without one: never late)."""
    if class_session is None or class_session.grace_minutes is None:
        return False
    grace = dt.timedelta(minutes=class_session.grace_minutes)
    return now > as_utc(class_session.starts_at) + grace
