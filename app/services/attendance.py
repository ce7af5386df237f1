"""The attendance class sessions collect: listing, CSV export, the session's report. A teacher
key's `course_ids` narrow each to its courses' sessions (None: everything)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.core.errors import NotFound, Unprocessable
from app.core.tables import (
    Attendance,
    AttendanceEvent,
    CheckinAttempt,
    ClassSession,
    Course,
    CourseStudent,
    Student,
    as_utc,
)
from app.services.courses import get_course
from app.services.marks import session_events, visible_session
from app.services.students import get_student

CSV_COLUMNS = [
    "attendance_id",
    "student_id",
    "external_id",
    "name",
    "session_id",
    "session_name",
    "day",
    "first_checkin_at",
    "similarity",
    "late",
    "checkin_id",
    "status",
    "source",
    "reason",
]


def check_filters(
    db: Session,
    *,
    session_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    student_id: int | None = None,
    course_ids: frozenset[int] | None = None,
) -> None:
    """Refuse filters that can only match nothing by mistake: an unknown session or student,
    or a date range that ends before it starts. To a teacher key, a session of another course
    and a student on none of its rosters are unknown."""
    if session_id is not None:
        visible_session(db, session_id, course_ids)
    if student_id is not None:
        get_student(db, student_id)
        if course_ids is not None and not _on_rosters(db, student_id, course_ids):
            raise NotFound("student_not_found", f"No student with id {student_id}.")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Unprocessable(
            "empty_date_range", f"The range starts ({date_from}) after it ends ({date_to})."
        )


def list_attendance(
    db: Session,
    *,
    session_id: int | None = None,
    day: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    student_id: int | None = None,
    course_ids: frozenset[int] | None = None,
) -> list[Attendance]:
    """The rows, each with its student and class session loaded."""
    query = select(Attendance).options(
        joinedload(Attendance.student), joinedload(Attendance.session)
    )
    if course_ids is not None:
        query = query.join(ClassSession, ClassSession.id == Attendance.session_id).where(
            ClassSession.course_id.in_(sorted(course_ids))
        )
    if session_id is not None:
        query = query.where(Attendance.session_id == session_id)
    if day is not None:
        query = query.where(Attendance.day == day)
    if date_from is not None:
        query = query.where(Attendance.day >= date_from)
    if date_to is not None:
        query = query.where(Attendance.day <= date_to)
    if student_id is not None:
        query = query.where(Attendance.student_id == student_id)
    return list(db.scalars(query.order_by(Attendance.first_checkin_at, Attendance.id)))


def _on_rosters(db: Session, student_id: int, course_ids: frozenset[int]) -> bool:
    found = db.scalar(
        select(CourseStudent.student_id)
        .where(
            CourseStudent.student_id == student_id,
            CourseStudent.course_id.in_(sorted(course_ids)),
        )
        .limit(1)
    )
    return found is not None


def _time(value: dt.datetime | None) -> str:
    return as_utc(value).isoformat() if value is not None else ""


def _score(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else ""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def csv_cell(value: object) -> object:
    """Neutralise text a spreadsheet would run as a formula (CSV injection). Control
    characters become spaces first: a CR inside a cell, which the writer does not quote,
    would start a new row there, one that may begin with a formula."""
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub(" ", value)
    if value.lstrip(" ")[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def attendance_csv(rows: list[Attendance]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            csv_cell(value)
            for value in [
                row.id,
                row.student.id,
                row.student.external_id,
                row.student.name,
                row.session.id if row.session else "",
                row.session.name if row.session else "",
                row.day.isoformat(),
                _time(row.first_checkin_at),
                _score(row.similarity),
                "yes" if row.late else "no",
                row.checkin_id or "",
                row.status,
                row.source,
                row.reason or "",
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class SessionMarks:
    """A session's marks and who is absent: what its live board shows."""

    class_session: ClassSession
    course: Course | None
    marks: list[Attendance]  # every mark, whatever its status
    absent: list[Student]  # marked absent, or expected and never marked
    not_on_roster: int  # check-ins of enrolled students not on the course's roster

    @property
    def present(self) -> list[Attendance]:
        """Present, late or not."""
        return [row for row in self.marks if row.status in ("present", "late")]

    @property
    def late(self) -> list[Attendance]:
        return [row for row in self.marks if row.status == "late"]

    @property
    def excused(self) -> list[Attendance]:
        return [row for row in self.marks if row.status == "excused"]

    @property
    def marked_absent(self) -> list[Attendance]:
        return [row for row in self.marks if row.status == "absent"]


@dataclass(frozen=True)
class AttendanceReport(SessionMarks):
    """The board's marks, and every change to them (the audit trail)."""

    events: list[AttendanceEvent]


def absentees(marks: list[Attendance], expected: list[Student]) -> list[Student]:
    """Those marked absent (in the marks' order), then the expected never marked."""
    marked_ids = {row.student_id for row in marks}
    absent = [row.student for row in marks if row.status == "absent"]
    return absent + [student for student in expected if student.id not in marked_ids]


def class_session_report(
    db: Session, class_session_id: int, course_ids: frozenset[int] | None = None
) -> AttendanceReport:
    """Present (late ones also listed apart), excused, absent (marked absent, or the roster's
    active members never marked; a session of no course: every active student), faces that
    were enrolled students not on the roster, and every change to the marks."""
    class_session = visible_session(db, class_session_id, course_ids)
    marks = list_attendance(db, session_id=class_session_id)
    expected = select(Student).where(Student.active).order_by(Student.external_id)
    course = None
    if class_session.course_id is not None:
        course = get_course(db, class_session.course_id)
        expected = expected.join(CourseStudent, CourseStudent.student_id == Student.id).where(
            CourseStudent.course_id == course.id
        )
    absent = absentees(marks, list(db.scalars(expected)))
    not_on_roster = db.scalar(
        select(func.count()).where(
            CheckinAttempt.session_id == class_session_id,
            CheckinAttempt.outcome == "not_on_roster",
        )
    )
    events = session_events(db, class_session_id)
    return AttendanceReport(class_session, course, marks, absent, not_on_roster or 0, events)


REPORT_COLUMNS = [
    "status",
    "student_id",
    "external_id",
    "name",
    "first_checkin_at",
    "similarity",
    "source",
    "reason",
]


def report_csv(report: AttendanceReport) -> str:
    """The report as one row per marked or expected student: present, late, excused or absent
    (an absent student never marked has no source)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    shown = [*report.present, *report.excused, *report.marked_absent]
    for row in shown:
        student = row.student
        cells = [row.status, student.id, student.external_id, student.name]
        cells += [_time(row.first_checkin_at), _score(row.similarity), row.source]
        cells += [row.reason or ""]
        writer.writerow(csv_cell(value) for value in cells)
    marked = {row.student_id for row in shown}
    for student in report.absent:
        if student.id not in marked:
            cells = ["absent", student.id, student.external_id, student.name, "", "", "", ""]
            writer.writerow(csv_cell(value) for value in cells)
    return out.getvalue()
