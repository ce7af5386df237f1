from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import Response

from app.api.csv_answers import CSV_OR_JSON, AcceptHeader, FormatQuery, csv_response, wants_csv
from app.api.deps import CallerDep, DbSession, IdPath, ReadDbSession, allow
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    CourseRef,
    MarkEventOut,
    SessionOut,
    SessionReport,
    StudentRef,
    attendance_out,
    error_responses,
)
from app.core.domain import SessionCreate
from app.core.roles import Role
from app.services import attendance, marks, sessions

router = APIRouter(
    prefix="/sessions",
    tags=["sessions"],
    dependencies=[allow(Role.viewer, Role.teacher)],
    responses=error_responses(*ANY_KEYED),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    dependencies=[allow()],
    responses=error_responses(*ANY_BODY, 404),
)
def create_session(db: DbSession, body: SessionCreate) -> SessionOut:
    created = sessions.create_class_session(db, body)
    return SessionOut.model_validate(created, from_attributes=True)


@router.get("", response_model=list[SessionOut])
def list_sessions(db: ReadDbSession, caller: CallerDep) -> list[SessionOut]:
    """Every session (a teacher key: its courses' only)."""
    found = sessions.list_class_sessions(db, course_ids=caller.course_ids)
    return [SessionOut.model_validate(s, from_attributes=True) for s in found]


@router.get("/{session_id}", response_model=SessionOut, responses=error_responses(404))
def get_session(db: ReadDbSession, caller: CallerDep, session_id: IdPath) -> SessionOut:
    """A session; to a teacher key, one of another course is unknown (404)."""
    found = marks.visible_session(db, session_id, caller.course_ids)
    return SessionOut.model_validate(found, from_attributes=True)


@router.get(
    "/{session_id}/report",
    response_model=SessionReport,
    responses={
        **error_responses(404),
        **CSV_OR_JSON,
    },
)
def session_report(
    db: ReadDbSession,
    caller: CallerDep,
    session_id: IdPath,
    format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> SessionReport | Response:
    """Who was present (with first check-in time; late after the grace period), who was
    excused, who was absent (marked so, or on the course's roster, for a session of no course
    among active students, and never marked), how many faces were students not on the roster,
    and every change to the marks (the audit trail). `?format=csv` or `Accept: text/csv`: one
    CSV row per student, status present, late, excused or absent, with source and reason."""
    report = attendance.class_session_report(db, session_id, caller.course_ids)
    if wants_csv(format, accept):
        return csv_response(attendance.report_csv(report), f"session-{session_id}.csv")
    return SessionReport(
        session=SessionOut.model_validate(report.class_session, from_attributes=True),
        course=CourseRef.model_validate(report.course) if report.course else None,
        present=[attendance_out(row) for row in report.present],
        late=[attendance_out(row) for row in report.late],
        excused=[attendance_out(row) for row in report.excused],
        absent=[StudentRef.model_validate(student) for student in report.absent],
        not_on_roster=report.not_on_roster,
        events=[MarkEventOut.model_validate(event) for event in report.events],
    )
