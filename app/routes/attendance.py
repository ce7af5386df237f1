from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response

from app.deps import IdQuery, ReadSessionDep, allow
from app.routes.exports import CSV_OR_JSON, AcceptHeader, FormatQuery, csv_response, wants_csv
from app.schemas import ANY_KEYED, AttendanceOut, error_responses
from app.services import attendance
from app.services.keys import Role

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
    session: ReadSessionDep,
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
        session,
        session_id=session_id,
        day=day,
        date_from=date_from,
        date_to=date_to,
        student_id=student_id,
    )
    if wants_csv(format, accept):
        return csv_response(attendance.attendance_csv(rows), "attendance.csv")
    return rows
