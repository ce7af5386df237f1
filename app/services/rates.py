"""Attendance rates over a date range: per student, the sessions held and how each went."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Unprocessable
from app.core.tables import Attendance, ClassSession, Course, CourseStudent, Student
from app.services.attendance import csv_cell
from app.services.courses import visible_course

RATE_COLUMNS = [
    "student_id",
    "external_id",
    "name",
    "sessions",
    "present",
    "late",
    "excused",
    "absent",
    "rate",
    "chronic",
]


def status_counts() -> dict[str, int]:
    """A count per status, each zero."""
    return {"present": 0, "late": 0, "excused": 0, "absent": 0}


def attendance_rate(counts: dict[str, int], sessions: int) -> float | None:
    """Present or late, of the sessions held less those excused; None when that is none."""
    counted = sessions - counts["excused"]
    if counted <= 0:
        return None
    return round((counts["present"] + counts["late"]) / counted, 4)


@dataclass
class StudentRate:
    student: Student
    sessions: int = 0  # held, with the student expected or marked
    counts: dict[str, int] = field(default_factory=status_counts)

    @property
    def rate(self) -> float | None:
        return attendance_rate(self.counts, self.sessions)


@dataclass(frozen=True)
class RatesReport:
    course: Course | None
    date_from: dt.date | None
    date_to: dt.date | None
    threshold: float
    sessions: int  # held in the range
    students: list[StudentRate]

    @property
    def chronic(self) -> list[StudentRate]:
        return [one for one in self.students if one.rate is not None and one.rate < self.threshold]


def _held_sessions(
    db: Session,
    course_id: int | None,
    course_ids: frozenset[int] | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    zone: ZoneInfo,
    now: dt.datetime,
) -> list[ClassSession]:
    """Sessions that have started by `now`, on a day of the range in the school's zone."""
    query = select(ClassSession).where(ClassSession.starts_at <= now)
    if course_id is not None:
        query = query.where(ClassSession.course_id == course_id)
    elif course_ids is not None:
        query = query.where(ClassSession.course_id.in_(sorted(course_ids)))
    if date_from is not None:
        start = dt.datetime.combine(date_from, dt.time(), zone)
        query = query.where(ClassSession.starts_at >= start)
    if date_to is not None:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), zone)
        query = query.where(ClassSession.starts_at < end)
    return list(db.scalars(query.order_by(ClassSession.starts_at, ClassSession.id)))


def attendance_rates(
    db: Session,
    *,
    course_id: int | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    timezone: str,
    threshold: float,
    course_ids: frozenset[int] | None = None,
) -> RatesReport:
    """Each student's sessions held and marks in them over the range (a session not yet
    started is not held). A session of a course expects its roster's active members (the
    roster as it is now); one of no course, every active student; a student marked in a session
    counts for it either way. No mark: absent."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Unprocessable(
            "empty_date_range", f"The range starts ({date_from}) after it ends ({date_to})."
        )
    course = visible_course(db, course_id, course_ids) if course_id is not None else None
    now = dt.datetime.now(dt.UTC)
    held = _held_sessions(db, course_id, course_ids, date_from, date_to, ZoneInfo(timezone), now)
    active = list(db.scalars(select(Student).where(Student.active)))
    rosters: dict[int, set[int]] = {}
    for cid, sid in db.execute(select(CourseStudent.course_id, CourseStudent.student_id)):
        rosters.setdefault(cid, set()).add(sid)
    active_ids = {s.id for s in active}
    marks: dict[int, dict[int, str]] = {}
    for row in db.scalars(
        select(Attendance).where(Attendance.session_id.in_([s.id for s in held]))
    ):
        marks.setdefault(row.session_id or 0, {})[row.student_id] = row.status
    students = {s.id: s for s in active}
    rates: dict[int, StudentRate] = {}
    for one in held:
        expected = (
            active_ids & rosters.get(one.course_id, set())
            if one.course_id is not None
            else set(active_ids)
        )
        marked = marks.get(one.id, {})
        for sid in expected | set(marked):
            student = students.get(sid) or db.get(Student, sid)
            if student is None:
                continue
            rate = rates.setdefault(sid, StudentRate(student))
            rate.sessions += 1
            rate.counts[marked.get(sid, "absent")] += 1
    ordered = sorted(rates.values(), key=lambda r: r.student.external_id)
    return RatesReport(course, date_from, date_to, threshold, len(held), ordered)


def rates_csv(report: RatesReport) -> str:
    """One row per student; rate a share with 4 decimals (empty when no session counts)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RATE_COLUMNS)
    chronic = {one.student.id for one in report.chronic}
    for one in report.students:
        student, counts = one.student, one.counts
        cells = [student.id, student.external_id, student.name, one.sessions]
        cells += [counts["present"], counts["late"], counts["excused"], counts["absent"]]
        cells += [f"{one.rate:.4f}" if one.rate is not None else ""]
        cells += ["yes" if student.id in chronic else "no"]
        writer.writerow(csv_cell(value) for value in cells)
    return out.getvalue()
