"""Class sessions and the attendance they collect: listing, CSV export, present/absent report."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.errors import NotFound, Unprocessable
from app.schemas import (
    AttendanceOut,
    CourseRef,
    SessionCreate,
    SessionOut,
    SessionRef,
    SessionReport,
    StudentRef,
)
from app.services.courses import get_course
from app.tables import Attendance, CheckinAttempt, ClassSession, CourseStudent, Student

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


def create_session(session: Session, body: SessionCreate) -> ClassSession:
    if body.course_id is not None:
        get_course(session, body.course_id)
    class_session = ClassSession(
        name=body.name,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        course_id=body.course_id,
        grace_minutes=body.grace_minutes,
    )
    session.add(class_session)
    session.commit()
    return class_session


def get_session(session: Session, session_id: int) -> ClassSession:
    class_session = session.get(ClassSession, session_id)
    if class_session is None:
        raise NotFound("session_not_found", f"No class session with id {session_id}.")
    return class_session


def list_sessions(session: Session) -> list[ClassSession]:
    return list(session.scalars(select(ClassSession).order_by(ClassSession.starts_at.desc())))


def _attendance_out(row: Attendance) -> AttendanceOut:
    return AttendanceOut(
        id=row.id,
        student=StudentRef.model_validate(row.student),
        session=SessionRef.model_validate(row.session) if row.session else None,
        day=row.day,
        first_checkin_at=row.first_checkin_at,
        similarity=row.similarity,
        late=row.late,
        checkin_id=row.checkin_id,
    )


def check_filters(
    session: Session,
    *,
    session_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    student_id: int | None = None,
) -> None:
    """Refuse filters that can only match nothing by mistake: an unknown session or student,
    or a date range that ends before it starts."""
    if session_id is not None and session.get(ClassSession, session_id) is None:
        raise NotFound("session_not_found", f"No class session with id {session_id}.")
    if student_id is not None and session.get(Student, student_id) is None:
        raise NotFound("student_not_found", f"No student with id {student_id}.")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Unprocessable(
            "empty_date_range", f"The range starts ({date_from}) after it ends ({date_to})."
        )


def list_attendance(
    session: Session,
    *,
    session_id: int | None = None,
    day: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    student_id: int | None = None,
) -> list[AttendanceOut]:
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
    rows = session.scalars(query.order_by(Attendance.first_checkin_at, Attendance.id))
    return [_attendance_out(row) for row in rows]


def _cell(value: object) -> object:
    """Neutralise text a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def attendance_csv(rows: list[AttendanceOut]) -> str:
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
                row.first_checkin_at.isoformat(),
                f"{row.similarity:.4f}",
                "yes" if row.late else "no",
                row.checkin_id or "",
            ]
        )
    return out.getvalue()


def session_report(session: Session, session_id: int) -> SessionReport:
    """Present (late ones also listed apart), absent: the roster's active members never
    present (a session of no course: every active student), and faces that were enrolled
    students not on the roster."""
    class_session = get_session(session, session_id)
    present = list_attendance(session, session_id=session_id)
    present_ids = {row.student.id for row in present}
    expected = select(Student).where(Student.active).order_by(Student.external_id)
    course = None
    if class_session.course_id is not None:
        course = get_course(session, class_session.course_id)
        expected = expected.join(CourseStudent, CourseStudent.student_id == Student.id).where(
            CourseStudent.course_id == course.id
        )
    absent = [
        StudentRef.model_validate(student)
        for student in session.scalars(expected)
        if student.id not in present_ids
    ]
    not_on_roster = session.scalar(
        select(func.count()).where(
            CheckinAttempt.session_id == session_id, CheckinAttempt.outcome == "not_on_roster"
        )
    )
    return SessionReport(
        session=SessionOut.model_validate(class_session, from_attributes=True),
        course=CourseRef.model_validate(course) if course else None,
        present=present,
        late=[row for row in present if row.late],
        absent=absent,
        not_on_roster=not_on_roster or 0,
    )


REPORT_COLUMNS = ["status", "student_id", "external_id", "name", "first_checkin_at", "similarity"]


def report_csv(report: SessionReport) -> str:
    """The report as one row per expected or present student: present, late or absent."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in report.present:
        student = row.student
        status = "late" if row.late else "present"
        cells = [status, student.id, student.external_id, student.name]
        cells += [row.first_checkin_at.isoformat(), f"{row.similarity:.4f}"]
        writer.writerow(_cell(value) for value in cells)
    for student in report.absent:
        cells = ["absent", student.id, student.external_id, student.name, "", ""]
        writer.writerow(_cell(value) for value in cells)
    return out.getvalue()
