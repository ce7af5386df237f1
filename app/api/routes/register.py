"""A course's register over a date range (the office's term grid, a paper register's CSV)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.csv_answers import CSV_OR_JSON, AcceptHeader, FormatQuery, csv_response, wants_csv
from app.api.deps import (
    MAX_ID,
    CallerDep,
    ContextDep,
    DateInRange,
    Digits,
    IsoDate,
    ReadDbSession,
    allow,
)
from app.api.schemas import ANY_KEYED, CourseRef, StudentRef, error_responses
from app.core.roles import Role
from app.core.tables import as_utc
from app.services import register_grid

router = APIRouter(
    prefix="/reports",
    tags=["reports"],
    dependencies=[allow(Role.viewer, Role.teacher)],
    responses=error_responses(*ANY_KEYED),
)

CourseQuery = Annotated[int, Query(ge=1, le=MAX_ID), Digits]
DayQuery = Annotated[dt.date, Query(description="YYYY-MM-DD, included"), IsoDate, DateInRange]
# A page of students: a register of a whole year group (500 students by 50 sessions) is more
# cells than a browser lays out at once; a class fits on one page.
RowLimit = Annotated[int, Query(ge=1, le=500, description="Students in this page")]
RowOffset = Annotated[int, Query(ge=0, le=MAX_ID)]


class Totals(BaseModel):
    present: int
    late: int
    excused: int
    absent: int = Field(description="Marked absent, or never marked in a session held.")


class GridSessionOut(BaseModel):
    id: int
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    held: bool = Field(description="Started by the time of the answer: unmarked is absent.")
    series_id: int | None
    totals: Totals


class GridCellOut(BaseModel):
    status: str = Field(description="present, late, excused or absent")
    source: str | None = Field(description="face or manual; null: no mark, absent by default")
    reason: str | None


class GridRowOut(BaseModel):
    student: StudentRef
    cells: list[GridCellOut | None] = Field(
        description="One per session, in the sessions' order; null: a session still to come "
        "with no mark."
    )
    totals: Totals
    rate: float | None = Field(description="(present + late) / (held - excused)")


class RegisterOut(BaseModel):
    course: CourseRef
    date_from: dt.date
    date_to: dt.date
    sessions: list[GridSessionOut] = Field(description="Oldest first.")
    rows: list[GridRowOut] = Field(description="A page of the students, by name.")
    total: int = Field(description="Students in the register, every page.")
    limit: int
    offset: int


def _session_out(column: register_grid.GridSession) -> GridSessionOut:
    one = column.session
    return GridSessionOut(
        id=one.id,
        name=one.name,
        starts_at=as_utc(one.starts_at),
        ends_at=as_utc(one.ends_at),
        held=column.held,
        series_id=one.series_id,
        totals=Totals(**column.totals),
    )


def _row_out(row: register_grid.GridRow) -> GridRowOut:
    return GridRowOut(
        student=StudentRef.model_validate(row.student),
        cells=[
            GridCellOut(status=c.status, source=c.source, reason=c.reason) if c else None
            for c in row.cells
        ],
        totals=Totals(**row.totals),
        rate=row.rate,
    )


@router.get(
    "/register",
    response_model=RegisterOut,
    responses={**CSV_OR_JSON, **error_responses(404)},
)
def course_register(
    context: ContextDep,
    db: ReadDbSession,
    caller: CallerDep,
    course_id: CourseQuery,
    date_from: DayQuery,
    date_to: DayQuery,
    limit: RowLimit = 100,
    offset: RowOffset = 0,
    format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> RegisterOut | Response:
    """One course's students by its sessions that start on a day of the range (both ends
    included, days in ROLLCALL_TIMEZONE; at most 400 days): each cell the student's status,
    with totals per student and per session. The roster's active members are listed, and
    anyone marked in one of the sessions, a page of them at a time (`limit`, `offset`; the
    totals per session count every student). A teacher key: its courses only (another:
    404). `?format=csv` or `Accept: text/csv`: every student, in a spreadsheet with a
    byte-order mark, named register-<code>-<from>-<to>.csv."""
    grid = register_grid.register_grid(
        db,
        course_id=course_id,
        date_from=date_from,
        date_to=date_to,
        timezone=context.settings.timezone,
        course_ids=caller.course_ids,
    )
    if wants_csv(format, accept):
        text = register_grid.grid_csv(grid, context.settings.timezone)
        return csv_response(text, register_grid.grid_filename(grid))
    return RegisterOut(
        course=CourseRef.model_validate(grid.course),
        date_from=grid.date_from,
        date_to=grid.date_to,
        sessions=[_session_out(column) for column in grid.sessions],
        rows=[_row_out(row) for row in grid.rows[offset : offset + limit]],
        total=len(grid.rows),
        limit=limit,
        offset=offset,
    )
