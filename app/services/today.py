"""Today in the office: every session of a school day with its marks and who is absent, in a
fixed number of queries whatever the number of sessions (the page asks every few seconds)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from app.core.tables import Attendance, CheckinAttempt, ClassSession, Course, CourseStudent, Student
from app.services.attendance import SessionMarks, absentees
from app.services.sessions import in_progress, midnight

NO_COURSE = 0  # the key, among rosters, of the sessions of no course: every active student


def day_boards(
    db: Session,
    day: dt.date,
    *,
    timezone: str,
    now: dt.datetime | None = None,
    course_ids: frozenset[int] | None = None,
) -> list[SessionMarks]:
    """The sessions that start on `day` (the school's zone), those in progress first, then
    those to come, then those ended, each group in time order; each with its marks, its absent
    (as the session's report counts them) and its faces not on the roster. `course_ids`: a
    teacher's courses only."""
    now = now or dt.datetime.now(dt.UTC)
    zone = ZoneInfo(timezone)
    starts, ends = midnight(day, zone), midnight(day + dt.timedelta(days=1), zone)
    query = select(ClassSession).where(
        ClassSession.starts_at >= starts, ClassSession.starts_at < ends
    )
    if course_ids is not None:
        query = query.where(ClassSession.course_id.in_(sorted(course_ids)))
    state = case(
        (in_progress(now), 0),
        (ClassSession.starts_at > now, 1),
        else_=2,
    )
    found = list(db.scalars(query.order_by(state, ClassSession.starts_at, ClassSession.id)))
    if not found:
        return []
    ids = [s.id for s in found]
    marks = _marks(db, ids)
    wanted = {s.course_id if s.course_id is not None else NO_COURSE for s in found}
    expected = _expected(db, wanted)
    courses = {c.id: c for c in db.scalars(select(Course).where(Course.id.in_(sorted(wanted))))}
    outside = _not_on_roster(db, ids)
    boards = []
    for one in found:
        course_id = one.course_id if one.course_id is not None else NO_COURSE
        rows = marks.get(one.id, [])
        boards.append(
            SessionMarks(
                class_session=one,
                course=courses.get(course_id),
                marks=rows,
                absent=absentees(rows, expected.get(course_id, [])),
                not_on_roster=outside.get(one.id, 0),
            )
        )
    return boards


def _marks(db: Session, session_ids: list[int]) -> dict[int, list[Attendance]]:
    """Each session's marks with their students, in the report's order."""
    query = (
        select(Attendance)
        .options(joinedload(Attendance.student))
        .where(Attendance.session_id.in_(session_ids))
        .order_by(Attendance.first_checkin_at, Attendance.id)
    )
    by_session: dict[int, list[Attendance]] = defaultdict(list)
    for row in db.scalars(query):
        by_session[row.session_id or 0].append(row)
    return by_session


def _expected(db: Session, course_ids: set[int]) -> dict[int, list[Student]]:
    """Each course's active members by external id; NO_COURSE: every active student."""
    expected: dict[int, list[Student]] = defaultdict(list)
    real = sorted(course_ids - {NO_COURSE})
    if real:
        members = (
            select(CourseStudent.course_id, Student)
            .join(Student, Student.id == CourseStudent.student_id)
            .where(Student.active, CourseStudent.course_id.in_(real))
            .order_by(Student.external_id)
        )
        for course_id, student in db.execute(members):
            expected[course_id].append(student)
    if NO_COURSE in course_ids:
        everyone = select(Student).where(Student.active).order_by(Student.external_id)
        expected[NO_COURSE] = list(db.scalars(everyone))
    return expected


def _not_on_roster(db: Session, session_ids: list[int]) -> dict[int, int]:
    counts = (
        select(CheckinAttempt.session_id, func.count())
        .where(
            CheckinAttempt.session_id.in_(session_ids), CheckinAttempt.outcome == "not_on_roster"
        )
        .group_by(CheckinAttempt.session_id)
    )
    return {session_id: n for session_id, n in db.execute(counts) if session_id is not None}
