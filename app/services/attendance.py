"""The attendance class sessions collect: listing, CSV export, present/absent report."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.core.errors import Unprocessable
from app.core.tables import (
    Attendance,
    CheckinAttempt,
    ClassSession,
    Course,
    CourseStudent,
    Student,
    as_utc,
)
from app.services.courses import get_course
from app.services.sessions import get_class_session
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
]


def check_filters(
    db: Session,
    *,
    session_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    student_id: int | None = None,
) -> None:
    """Refuse filters that can only match nothing by mistake: an unknown session or student,
    or a date range that ends before it starts."""
    if session_id is not None:
        get_class_session(db, session_id)
    if student_id is not None:
        get_student(db, student_id)
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
) -> list[Attendance]:
    """The rows, each with its student and class session loaded."""
    query = select(Attendance).options(
        joinedload(Attendance.student), joinedload(Attendance.session)
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


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _cell(value: object) -> object:
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
            _cell(value)
            for value in [
                row.id,
                row.student.id,
                row.student.external_id,
                row.student.name,
                row.session.id if row.session else "",
                row.session.name if row.session else "",
                row.day.isoformat(),
                as_utc(row.first_checkin_at).isoformat(),
                f"{row.similarity:.4f}",
                "yes" if row.late else "no",
                row.checkin_id or "",
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class AttendanceReport:
    class_session: ClassSession
    course: Course | None
    present: list[Attendance]  # late or not
    absent: list[Student]
    not_on_roster: int  # check-ins of enrolled students not on the course's roster

    @property
    def late(self) -> list[Attendance]:
        return [row for row in self.present if row.late]


def class_session_report(db: Session, class_session_id: int) -> AttendanceReport:
    """Present (late ones also listed apart), absent: the roster's active members never
    present (a session of no course: every active student), and faces that were enrolled
    students not on the roster."""
    class_session = get_class_session(db, class_session_id)
    present = list_attendance(db, session_id=class_session_id)
    present_ids = {row.student.id for row in present}
    expected = select(Student).where(Student.active).order_by(Student.external_id)
    course = None
    if class_session.course_id is not None:
        course = get_course(db, class_session.course_id)
        expected = expected.join(CourseStudent, CourseStudent.student_id == Student.id).where(
            CourseStudent.course_id == course.id
        )
    absent = [student for student in db.scalars(expected) if student.id not in present_ids]
    not_on_roster = db.scalar(
        select(func.count()).where(
            CheckinAttempt.session_id == class_session_id,
            CheckinAttempt.outcome == "not_on_roster",
        )
    )
    return AttendanceReport(class_session, course, present, absent, not_on_roster or 0)


REPORT_COLUMNS = ["status", "student_id", "external_id", "name", "first_checkin_at", "similarity"]


def report_csv(report: AttendanceReport) -> str:
    """The report as one row per expected or present student: present, late or absent."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in report.present:
        student = row.student
        status = "late" if row.late else "present"
        cells = [status, student.id, student.external_id, student.name]
        cells += [as_utc(row.first_checkin_at).isoformat(), f"{row.similarity:.4f}"]
        writer.writerow(_cell(value) for value in cells)
    for student in report.absent:
        cells = ["absent", student.id, student.external_id, student.name, "", ""]
        writer.writerow(_cell(value) for value in cells)
    return out.getvalue()
