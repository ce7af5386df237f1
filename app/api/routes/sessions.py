from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from app.api.csv_answers import CSV_OR_JSON, AcceptHeader, FormatQuery, csv_response, wants_csv
from app.api.deps import (
    MAX_ID,
    CallerDep,
    ContextDep,
    DateQuery,
    DbSession,
    Digits,
    IdPath,
    IdQuery,
    ReadDbSession,
    allow,
)
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    MarkEventOut,
    SessionDeleted,
    SessionOut,
    SessionPage,
    SessionReport,
    error_responses,
    session_out,
)
from app.api.schemas_today import TodayOut, board_out
from app.core.domain import SessionCreate, SessionState, SessionUpdate
from app.core.roles import Role
from app.services import attendance, marks, sessions, thumbnails, today

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
    return session_out(sessions.create_class_session(db, body))


@router.get("", response_model=SessionPage, responses=error_responses(404))
def list_sessions(
    context: ContextDep,
    db: ReadDbSession,
    caller: CallerDep,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
    course_id: IdQuery = None,
    state: Annotated[
        SessionState | None, Query(description="upcoming, in_progress or ended, now")
    ] = None,
    series_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="a timetable series' sessions"), Digits
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500), Digits] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID), Digits] = 0,
    order: Annotated[
        Literal["newest", "time"],
        Query(description="after those in progress: newest first, or in time order"),
    ] = "newest",
) -> SessionPage:
    """A page of class sessions: those in progress first, then the newest first (`order=time`:
    the oldest first, as a week's timetable reads). `date_from`
    and `date_to` (the school's calendar days, ROLLCALL_TIMEZONE) keep the sessions that
    start on those days; `course_id` a course's (404: no such course); `state` those
    upcoming, in progress or ended now; `series_id` a timetable series'. `total` counts every
    match, on every page. A teacher key sees its courses' sessions only."""
    found = sessions.list_class_sessions(
        db,
        sessions.SessionFilters(date_from, date_to, course_id, state, series_id),
        limit,
        offset,
        timezone=context.settings.timezone,
        course_ids=caller.course_ids,
        in_time_order=order == "time",
    )
    return SessionPage(
        items=[session_out(s) for s in found.items],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@router.get("/today", response_model=TodayOut)
def sessions_today(
    context: ContextDep,
    db: ReadDbSession,
    caller: CallerDep,
    day: DateQuery = None,
) -> TodayOut:
    """The office's Today in one answer: every session that starts on the school's day
    (ROLLCALL_TIMEZONE), those in progress first, each with its live board (present, late,
    excused, absent, faces not on the roster: as its report, without the audit trail). A
    teacher key: its courses' sessions only."""
    now = dt.datetime.now(dt.UTC)
    timezone = context.settings.timezone
    day = day or now.astimezone(ZoneInfo(timezone)).date()
    boards = today.day_boards(db, day, timezone=timezone, now=now, course_ids=caller.course_ids)
    return TodayOut(day=day, sessions=[board_out(board, now) for board in boards])


@router.get("/{session_id}", response_model=SessionOut, responses=error_responses(404))
def get_session(db: ReadDbSession, caller: CallerDep, session_id: IdPath) -> SessionOut:
    """A session; to a teacher key, one of another course is unknown (404)."""
    return session_out(marks.visible_session(db, session_id, caller.course_ids))


@router.patch(
    "/{session_id}",
    response_model=SessionOut,
    dependencies=[allow()],
    responses=error_responses(*ANY_BODY, 404),
)
def update_session(db: DbSession, session_id: IdPath, body: SessionUpdate) -> SessionOut:
    """Change a session's name, times, grace or course (only the fields sent; `course_id`
    or `grace_minutes` null: none). Its marks stay. A session of a series changes alone
    (PATCH /timetable/series/{id} with `from_date` changes it and those that follow)."""
    return session_out(sessions.update_class_session(db, session_id, body))


@router.delete(
    "/{session_id}",
    response_model=SessionDeleted,
    dependencies=[allow()],
    responses=error_responses(404, 409),
)
def delete_session(
    db: DbSession,
    session_id: IdPath,
    force: Annotated[
        bool, Query(description="delete it even though it holds attendance marks, and them")
    ] = False,
) -> SessionDeleted:
    """Delete a session. One that holds attendance marks is refused (409
    `session_has_attendance`, with their count) unless `?force=true`, which deletes the marks
    with it. Its check-in attempts stay, as attempts of no session."""
    deleted = sessions.delete_class_session(db, session_id, force=force)
    return SessionDeleted(id=session_id, marks_deleted=deleted)


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
    board = board_out(report, dt.datetime.now(dt.UTC))  # the board, as Today answers it
    return SessionReport(
        **dict(board), events=[MarkEventOut.model_validate(event) for event in report.events]
    )


@router.get(
    "/{session_id}/attendance/{student_id}/thumbnail",
    response_class=Response,
    dependencies=[allow(Role.teacher)],
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The check-in's face, 96 px JPEG."},
        **error_responses(404),
    },
)
def mark_thumbnail(
    db: ReadDbSession, caller: CallerDep, session_id: IdPath, student_id: IdPath
) -> Response:
    """The face that the check-in marking this student in this session saw, as a small JPEG
    kept with the mark (`has_thumbnail` on attendance rows; see ROLLCALL_KEEP_THUMBNAILS):
    for staff to tell a face from a photo of one. Admin keys, and teacher keys for their own
    courses' sessions; 404 `no_thumbnail` when none is kept (none taken, or purged)."""
    jpeg = thumbnails.of_mark(db, session_id, student_id, caller.course_ids)
    return Response(jpeg, media_type="image/jpeg")
