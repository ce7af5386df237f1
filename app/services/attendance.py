"""Class sessions and the attendance they collect: listing, CSV export, present/absent report."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.errors import NotFound, Unprocessable
from app.schemas import (
    AttendanceOut,
    SessionCreate,
    SessionOut,
    SessionRef,
    SessionReport,
    StudentRef,
)
from app.tables import Attendance, ClassSession, Student

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
    "checkin_id",
]


def create_session(session: Session, body: SessionCreate) -> ClassSession:
    class_session = ClassSession(name=body.name, starts_at=body.starts_at, ends_at=body.ends_at)
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
                row.checkin_id or "",
            ]
        )
    return out.getvalue()


def session_report(session: Session, session_id: int) -> SessionReport:
    class_session = get_session(session, session_id)
    present = list_attendance(session, session_id=session_id)
    present_ids = {row.student.id for row in present}
    absent = [
        StudentRef.model_validate(student)
        for student in session.scalars(
            select(Student).where(Student.active).order_by(Student.external_id)
        )
        if student.id not in present_ids
    ]
    return SessionReport(
        session=SessionOut.model_validate(class_session, from_attributes=True),
        present=present,
        absent=absent,
    )
