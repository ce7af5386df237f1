from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response

from app.csv_answers import CSV_OR_JSON, AcceptHeader, FormatQuery, csv_response, wants_csv
from app.deps import IdQuery, ReadDbSession, allow
from app.roles import Role
from app.schemas import ANY_KEYED, AttendanceOut, attendance_out, error_responses
from app.services import attendance

router = APIRouter(
    prefix="/attendance",
    tags=["attendance"],
    dependencies=[allow(Role.viewer)],
    responses=error_responses(*ANY_KEYED),
)


@router.get(
    "",
    response_model=list[AttendanceOut],
    responses=CSV_OR_JSON,
)
def list_attendance(
    db: ReadDbSession,
    session_id: IdQuery = None,
    day: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    student_id: IdQuery = None,
    format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> list[AttendanceOut] | Response:
    """Attendance rows; `?format=csv` or `Accept: text/csv` exports the same rows as CSV."""
    rows = attendance.list_attendance(
        db,
        session_id=session_id,
        day=day,
        date_from=date_from,
        date_to=date_to,
        student_id=student_id,
    )
    if wants_csv(format, accept):
        return csv_response(attendance.attendance_csv(rows), "attendance.csv")
    return [attendance_out(row) for row in rows]
