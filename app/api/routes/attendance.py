from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.csv_answers import CSV_OR_JSON, AcceptHeader, FormatQuery, csv_response, wants_csv
from app.api.deps import CallerDep, DateQuery, IdQuery, ReadDbSession, allow
from app.api.schemas import ANY_KEYED, AttendanceOut, attendance_out, error_responses
from app.core.roles import Role
from app.services import attendance

router = APIRouter(
    prefix="/attendance",
    tags=["attendance"],
    dependencies=[allow(Role.viewer, Role.teacher)],
    responses=error_responses(*ANY_KEYED),
)


@router.get(
    "",
    response_model=list[AttendanceOut],
    responses={**CSV_OR_JSON, **error_responses(404)},
)
def list_attendance(
    db: ReadDbSession,
    caller: CallerDep,
    session_id: IdQuery = None,
    day: DateQuery = None,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
    student_id: IdQuery = None,
    format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> list[AttendanceOut] | Response:
    """Attendance marks, each with its status (present, late, excused, absent), source (face,
    manual) and reason; `?format=csv` or `Accept: text/csv` exports the same rows as CSV.
    A filter that can only match nothing by mistake is refused: an unknown session or student
    (404), a range that ends before it starts (422 `empty_date_range`). A teacher key sees its
    courses' sessions only; another course's session, or a student on none of its rosters,
    is unknown (404)."""
    attendance.check_filters(
        db,
        session_id=session_id,
        date_from=date_from,
        date_to=date_to,
        student_id=student_id,
        course_ids=caller.course_ids,
    )
    rows = attendance.list_attendance(
        db,
        session_id=session_id,
        day=day,
        date_from=date_from,
        date_to=date_to,
        student_id=student_id,
        course_ids=caller.course_ids,
    )
    if wants_csv(format, accept):
        return csv_response(attendance.attendance_csv(rows), "attendance.csv")
    return [attendance_out(row) for row in rows]
