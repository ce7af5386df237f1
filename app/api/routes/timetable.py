"""The timetable: recurring series of class sessions (`rollcall timetable import` loads a
whole school's week from a CSV)."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import ContextDep, DateQuery, DbSession, IdPath, ReadDbSession, allow
from app.api.schemas import ANY_BODY, ANY_KEYED, error_responses
from app.api.schemas_timetable import SeriesChangeOut, SeriesOut
from app.core.domain import SeriesCreate, SeriesUpdate
from app.core.roles import Role
from app.services import timetable

router = APIRouter(
    prefix="/timetable",
    tags=["timetable"],
    dependencies=[allow(Role.viewer)],
    responses=error_responses(*ANY_KEYED),
)


def _series_out(found: timetable.SeriesSummary) -> SeriesOut:
    out = SeriesOut.model_validate(found.series, from_attributes=True)
    out.sessions = found.sessions
    return out


def _change_out(change: timetable.SeriesChange, series: SeriesOut | None = None) -> SeriesChangeOut:
    return SeriesChangeOut(
        series=series or _series_out(change.summary),
        sessions_created=change.created,
        sessions_updated=change.updated,
        sessions_deleted=change.deleted,
        sessions_kept=change.kept,
    )


@router.post(
    "/series",
    status_code=status.HTTP_201_CREATED,
    response_model=SeriesChangeOut,
    dependencies=[allow()],
    responses=error_responses(*ANY_BODY, 404),
)
def create_series(context: ContextDep, db: DbSession, body: SeriesCreate) -> SeriesChangeOut:
    """Make a series and all its sessions: one on each weekday listed, from `first_date` to
    `last_date` (both included) but for `skip_dates`, at `starts_time`-`ends_time` wall-clock
    time in `timezone` (none: ROLLCALL_TIMEZONE), whatever the daylight-saving offset that day.
    Each session records the series' id. 404: no such course; 422 `too_many_sessions` beyond
    1000."""
    return _change_out(timetable.create_series(db, body, context.settings.timezone))


@router.get("/series", response_model=list[SeriesOut])
def list_series(db: ReadDbSession) -> list[SeriesOut]:
    """Every series, by name, with how many sessions each holds now."""
    return [_series_out(found) for found in timetable.list_series(db)]


@router.get("/series/{series_id}", response_model=SeriesOut, responses=error_responses(404))
def get_series(db: ReadDbSession, series_id: IdPath) -> SeriesOut:
    """A series; its sessions: GET /sessions?series_id=..."""
    return _series_out(timetable.summary(db, timetable.get_series(db, series_id)))


@router.patch(
    "/series/{series_id}",
    response_model=SeriesChangeOut,
    dependencies=[allow()],
    responses=error_responses(*ANY_BODY, 404),
)
def update_series(
    db: DbSession, series_id: IdPath, body: SeriesUpdate, from_date: DateQuery = None
) -> SeriesChangeOut:
    """Change this session and the following: the series and its sessions from `from_date`
    (YYYY-MM-DD in the series' zone; default today) on. A session on a day still in the
    pattern keeps its id and marks and takes the fields sent; days new to the pattern get
    sessions; sessions on days no longer in it are deleted, unless they hold marks (kept as
    they were). Earlier sessions do not change. One session alone: PATCH /sessions/{id}."""
    return _change_out(timetable.update_series(db, series_id, body, from_date))


@router.delete(
    "/series/{series_id}",
    response_model=SeriesChangeOut,
    dependencies=[allow()],
    responses=error_responses(404),
)
def delete_series(db: DbSession, series_id: IdPath) -> SeriesChangeOut:
    """Delete the series and its sessions still to come that hold no marks; sessions that
    have begun, or hold marks, stay (as sessions made alone: `series_id` null)."""
    return _change_out(timetable.delete_series(db, series_id))  # the series as it was
