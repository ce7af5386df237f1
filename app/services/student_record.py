"""One student's record for the office's student page: their courses, every session held that
counted for them with how it went, a rate per course and when they were last seen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core.tables import Attendance, ClassSession, Course, CourseStudent, Student
from app.services.rates import attendance_rate, status_counts
from app.services.students import get_student


@dataclass(frozen=True)
class RecordEntry:
    """A held session that counted for the student; `mark` None: never marked, so absent."""

    session: ClassSession
    mark: Attendance | None
    course: Course | None

    @property
    def status(self) -> str:
        return self.mark.status if self.mark is not None else "absent"


@dataclass
class CourseRate:
    course: Course | None  # None: the sessions of no course
    counts: dict[str, int] = field(default_factory=status_counts)

    @property
    def sessions(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float | None:
        return attendance_rate(self.counts, self.sessions)  # as the rates report


@dataclass(frozen=True)
class StudentRecord:
    student: Student
    courses: list[Course]
    entries: list[RecordEntry]  # newest first, at most the limit asked
    held: int  # every held session that counted, over all entries
    rates: list[CourseRate]
    last_seen_at: dt.datetime | None  # the latest face check-in


def student_record(db: Session, student_id: int, limit: int) -> StudentRecord:
    """The sessions held (started by now) that counted for the student, as the rates report
    counts them: a session of one of their courses (the roster as it is now) while they are
    active, a session of no course while they are active, and any session they are marked in."""
    student = get_student(db, student_id)
    courses = list(
        db.scalars(
            select(Course)
            .join(CourseStudent, CourseStudent.course_id == Course.id)
            .where(CourseStudent.student_id == student_id)
            .order_by(Course.code)
        )
    )
    marks = {
        row.session_id: row
        for row in db.scalars(
            select(Attendance).where(
                Attendance.student_id == student_id, Attendance.session_id.is_not(None)
            )
        )
    }
    now = dt.datetime.now(dt.UTC)
    expected = [ClassSession.id.in_(list(marks))]
    if student.active:
        expected.append(ClassSession.course_id.in_([c.id for c in courses]))
        expected.append(ClassSession.course_id.is_(None))
    held = list(
        db.scalars(
            select(ClassSession)
            .where(ClassSession.starts_at <= now, or_(*expected))
            .order_by(ClassSession.starts_at.desc(), ClassSession.id.desc())
        )
    )
    known = {c.id: c for c in db.scalars(select(Course))}
    entries = [RecordEntry(one, marks.get(one.id), known.get(one.course_id or 0)) for one in held]
    return StudentRecord(
        student=student,
        courses=courses,
        entries=entries[:limit],
        held=len(entries),
        rates=_rates(entries),
        last_seen_at=_last_seen(db, student_id),
    )


def _rates(entries: list[RecordEntry]) -> list[CourseRate]:
    rates: dict[int | None, CourseRate] = {}
    for entry in entries:
        key = entry.course.id if entry.course else None
        rates.setdefault(key, CourseRate(entry.course)).counts[entry.status] += 1
    return sorted(rates.values(), key=lambda r: r.course.code if r.course else "\uffff")


def _last_seen(db: Session, student_id: int) -> dt.datetime | None:
    return db.scalar(
        select(Attendance.first_checkin_at)
        .where(Attendance.student_id == student_id, Attendance.first_checkin_at.is_not(None))
        .order_by(Attendance.first_checkin_at.desc())
        .limit(1)
    )
