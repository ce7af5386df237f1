"""The timetable: recurring series of class sessions, made, changed and removed together.

A series' sessions are stored as ordinary class sessions that name their series, so a
check-in, a report or a PATCH of one session treats them like any other. Each session's
times are the series' wall-clock times on its day in the series' zone, turned into UTC day by
day: across a daylight-saving change 09:00 stays 09:00 local (08:00Z in London's summer time,
09:00Z after the last Sunday of October). A wall-clock time the change skips (01:30 on the
spring Sunday) is read as the offset before it (02:30 local).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.domain import WEEKDAYS, SeriesCreate, SeriesUpdate, check_series
from app.core.errors import Unprocessable
from app.core.tables import Attendance, ClassSession, TimetableSeries, as_utc
from app.services.courses import get_course
from app.services.rows import get_or_404
from app.services.sessions import remove_sessions

MAX_SERIES_SESSIONS = 1000  # five a week for two years is 520: more is a mistake


@dataclass(frozen=True)
class SeriesSummary:
    series: TimetableSeries
    sessions: int  # the sessions it holds now


@dataclass(frozen=True)
class SeriesChange:
    summary: SeriesSummary  # the series after the change (a deleted one: before)
    created: int
    updated: int
    deleted: int
    kept: int  # sessions no longer in the pattern that hold marks: left as they were


def series_days(series: TimetableSeries, from_date: dt.date | None = None) -> list[dt.date]:
    """The days the series meets, from `from_date` (default: its first date) to its last."""
    weekdays = {WEEKDAYS.index(day) for day in series.weekdays}
    skipped = set(series.skip_dates)
    day = max(series.first_date, from_date or series.first_date)
    days = []
    while day <= series.last_date:
        if day.weekday() in weekdays and day.isoformat() not in skipped:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def session_times(series: TimetableSeries, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The series' wall-clock times on this day in its zone, as UTC instants."""
    zone = ZoneInfo(series.timezone)
    starts = dt.datetime.combine(day, series.starts_time, zone).astimezone(dt.UTC)
    ends = dt.datetime.combine(day, series.ends_time, zone).astimezone(dt.UTC)
    return starts, ends


def local_day(series: TimetableSeries, class_session: ClassSession) -> dt.date:
    return as_utc(class_session.starts_at).astimezone(ZoneInfo(series.timezone)).date()


def _refuse_too_many(days: list[dt.date]) -> None:
    if len(days) > MAX_SERIES_SESSIONS:
        raise Unprocessable(
            "too_many_sessions",
            f"The series would make {len(days)} sessions; at most {MAX_SERIES_SESSIONS}.",
        )


def add_series(db: Session, body: SeriesCreate, default_timezone: str) -> SeriesChange:
    """The series and its sessions, added and flushed, not committed (an import adds many
    in one transaction)."""
    if body.course_id is not None:
        get_course(db, body.course_id)
    series = TimetableSeries(
        **body.model_dump(exclude={"timezone", "skip_dates"}),
        timezone=body.timezone or default_timezone,
        skip_dates=sorted({day.isoformat() for day in body.skip_dates}),
    )
    days = series_days(series)
    _refuse_too_many(days)
    db.add(series)
    db.flush()
    db.add_all(_new_session(series, day) for day in days)
    db.flush()
    return SeriesChange(SeriesSummary(series, len(days)), len(days), 0, 0, 0)


def create_series(db: Session, body: SeriesCreate, default_timezone: str) -> SeriesChange:
    made = add_series(db, body, default_timezone)
    db.commit()
    return made


def _new_session(series: TimetableSeries, day: dt.date) -> ClassSession:
    starts, ends = session_times(series, day)
    return ClassSession(
        name=series.name,
        starts_at=starts,
        ends_at=ends,
        course_id=series.course_id,
        grace_minutes=series.grace_minutes,
        series_id=series.id,
    )


def get_series(db: Session, series_id: int, *, lock: bool = False) -> TimetableSeries:
    return get_or_404(
        db,
        TimetableSeries,
        series_id,
        "series_not_found",
        f"No timetable series with id {series_id}.",
        with_for_update={} if lock else None,
    )


def _sessions_of(db: Session, series_id: int) -> list[ClassSession]:
    query = select(ClassSession).where(ClassSession.series_id == series_id)
    return list(db.scalars(query.order_by(ClassSession.starts_at)))


def _marked(db: Session, class_session_ids: list[int]) -> set[int]:
    if not class_session_ids:
        return set()
    query = select(Attendance.session_id).where(Attendance.session_id.in_(class_session_ids))
    return {sid for sid in db.scalars(query.distinct()) if sid is not None}


def summary(db: Session, series: TimetableSeries) -> SeriesSummary:
    count = select(func.count()).where(ClassSession.series_id == series.id)
    return SeriesSummary(series, db.scalar(count) or 0)


def list_series(db: Session) -> list[SeriesSummary]:
    counts = dict(
        db.execute(
            select(ClassSession.series_id, func.count())
            .where(ClassSession.series_id.is_not(None))
            .group_by(ClassSession.series_id)
        ).all()
    )
    found = db.scalars(select(TimetableSeries).order_by(TimetableSeries.name, TimetableSeries.id))
    return [SeriesSummary(s, counts.get(s.id, 0)) for s in found]


def update_series(
    db: Session, series_id: int, body: SeriesUpdate, from_date: dt.date | None
) -> SeriesChange:
    """Change the series and its sessions from `from_date` on (default: today in its zone).

    Sessions on a day still in the pattern keep their id and marks and take the fields that
    changed (a field changed on one session alone and not here stays as it is); days new to
    the pattern get sessions; sessions on days no longer in it are deleted, but for those
    holding marks, which are kept as they were. Sessions before `from_date` do not change."""
    series = get_series(db, series_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("course_id") is not None:
        get_course(db, changes["course_id"])
    if "skip_dates" in changes:
        changes["skip_dates"] = sorted({day.isoformat() for day in body.skip_dates or []})
    for name, value in changes.items():
        setattr(series, name, value)
    try:
        check_series(series.starts_time, series.ends_time, series.first_date, series.last_date)
    except ValueError as exc:
        raise Unprocessable("invalid_series", f"{exc}; the series was not changed.") from None
    start = from_date or dt.datetime.now(ZoneInfo(series.timezone)).date()
    wanted = series_days(series, start)
    _refuse_too_many(wanted)
    following = [s for s in _sessions_of(db, series.id) if local_day(series, s) >= start]
    change = _apply_to_sessions(db, series, following, wanted, set(changes))
    db.commit()
    return change


def _apply_to_sessions(
    db: Session,
    series: TimetableSeries,
    following: list[ClassSession],
    wanted: list[dt.date],
    changed: set[str],
) -> SeriesChange:
    by_day: dict[dt.date, ClassSession] = {}
    leaving = []
    for class_session in following:
        day = local_day(series, class_session)
        if day in wanted and day not in by_day:
            by_day[day] = class_session
        else:
            leaving.append(class_session)
    for day, class_session in by_day.items():
        _take_changes(series, class_session, day, changed)
    marked = _marked(db, [s.id for s in leaving])
    remove_sessions(db, [s.id for s in leaving if s.id not in marked])
    new_days = [day for day in wanted if day not in by_day]
    db.add_all(_new_session(series, day) for day in new_days)
    db.flush()
    deleted = len(leaving) - len(marked)
    return SeriesChange(summary(db, series), len(new_days), len(by_day), deleted, len(marked))


def _take_changes(
    series: TimetableSeries, class_session: ClassSession, day: dt.date, changed: set[str]
) -> None:
    if "name" in changed:
        class_session.name = series.name
    if "course_id" in changed:
        class_session.course_id = series.course_id
    if "grace_minutes" in changed:
        class_session.grace_minutes = series.grace_minutes
    if changed & {"starts_time", "ends_time"}:
        class_session.starts_at, class_session.ends_at = session_times(series, day)


def delete_series(db: Session, series_id: int, now: dt.datetime | None = None) -> SeriesChange:
    """Delete the series and its sessions still to come that hold no marks; those that have
    begun, or hold marks, stay as sessions made alone."""
    now = now or dt.datetime.now(dt.UTC)
    series = get_series(db, series_id, lock=True)
    before = summary(db, series)
    future = [s for s in _sessions_of(db, series.id) if as_utc(s.starts_at) > now]
    marked = _marked(db, [s.id for s in future])
    going = [s.id for s in future if s.id not in marked]
    remove_sessions(db, going)
    staying = db.execute(
        update(ClassSession).where(ClassSession.series_id == series.id).values(series_id=None)
    )
    db.delete(series)
    db.commit()
    return SeriesChange(before, 0, 0, len(going), staying.rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE's: a CursorResult
