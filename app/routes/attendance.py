from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from app.deps import IdQuery, ReadSessionDep, allow
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
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV on request"}},
)
def list_attendance(
    session: ReadSessionDep,
    session_id: IdQuery = None,
    day: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    student_id: IdQuery = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
    accept: Annotated[str | None, Header()] = None,
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
    if format == "csv" or (format is None and accept and "text/csv" in accept):
        return Response(
            attendance.attendance_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="attendance.csv"'},
        )
    return rows
