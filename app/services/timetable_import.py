"""A whole school's timetable from a CSV: one series a row, all or nothing.

Every row is read and checked first (its fields, its course, and that it is not a series
already stored or listed twice); any problem is reported with its line number and nothing is
written. Otherwise every series and its sessions are written in one transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.domain import WEEKDAYS, SeriesCreate, Weekday
from app.core.tables import Course, TimetableSeries
from app.services.timetable import add_series

REQUIRED = ("name", "weekdays", "start", "end", "first_date", "last_date")
OPTIONAL = ("course", "timezone", "grace", "room", "skip")
MAX_ROWS = 5000  # a large school's week is a few hundred series

Progress = Callable[[list[tuple[int, SeriesCreate]]], Iterable[tuple[int, SeriesCreate]]]


@dataclass(frozen=True)
class RowProblem:
    line: int  # in the file; the header is line 1
    message: str


@dataclass(frozen=True)
class TimetableImport:
    series: int
    sessions: int
    problems: list[RowProblem]  # when any: nothing was written


class TimetableFileError(ValueError):
    """The file cannot be read as a timetable at all (not per row)."""


def import_timetable(
    db: Session, text: str, default_timezone: str, progress: Progress | None = None
) -> TimetableImport:
    rows = _read_rows(text)
    courses = dict(db.execute(select(Course.code, Course.id)).all())
    stored = {_key(s): s.id for s in db.scalars(select(TimetableSeries))}
    problems: list[RowProblem] = []
    wanted: list[tuple[int, SeriesCreate]] = []
    seen: dict[tuple[object, ...], int] = {}
    for line, row in rows:
        try:
            body = _series_of(row, courses)
        except ValueError as exc:
            problems.append(RowProblem(line, str(exc)))
            continue
        key = _key(body, default_timezone)
        if key in seen:
            problems.append(RowProblem(line, f"the same series as line {seen[key]}"))
        elif key in stored:
            problems.append(RowProblem(line, f"already in the timetable (series {stored[key]})"))
        else:
            seen[key] = line
            wanted.append((line, body))
    if problems:
        return TimetableImport(0, 0, problems)
    sessions = 0
    for _, body in progress(wanted) if progress else wanted:
        sessions += add_series(db, body, default_timezone).created
    db.commit()
    return TimetableImport(len(wanted), sessions, [])


def _read_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise TimetableFileError(
            f"the header lacks {', '.join(missing)} (columns: {', '.join(REQUIRED)}, and "
            f"optionally {', '.join(OPTIONAL)})"
        )
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if unknown:
        raise TimetableFileError(f"unknown column(s) {', '.join(unknown)}")
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise TimetableFileError(f"more than {MAX_ROWS} rows")
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            values["__extra__"] = "yes"
        if any(values.values()):  # blank lines are skipped
            rows.append((reader.line_num, values))
    return rows


def _series_of(row: dict[str, str], courses: dict[str, int]) -> SeriesCreate:
    """The row as a series; ValueError says what is wrong, field by field."""
    if row.get("__extra__"):
        raise ValueError("more fields than the header has columns")
    code = row.get("course", "")
    if code and code not in courses:
        raise ValueError(f"course: no course with code {code!r} (rollcall courses create)")
    try:
        return SeriesCreate.model_validate(
            {
                "name": row["name"],
                "course_id": courses[code] if code else None,
                "weekdays": _weekdays(row["weekdays"]),
                "starts_time": row["start"],
                "ends_time": row["end"],
                "timezone": row.get("timezone") or None,
                "grace_minutes": _minutes(row.get("grace", "")),
                "room": row.get("room") or None,
                "first_date": row["first_date"],
                "last_date": row["last_date"],
                "skip_dates": _split(row.get("skip", "")),
            }
        )
    except ValidationError as exc:
        raise ValueError("; ".join(_problem(e) for e in exc.errors())) from None


def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", ";").replace(" ", ";").split(";") if part]


DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekdays(text: str) -> list[Weekday]:
    """'mon;wed', 'Mon Wed', 'monday,thurs': each a weekday's name or its first 3+ letters."""
    days: list[Weekday] = []
    for part in _split(text.lower()):
        found = [name for name in DAY_NAMES if len(part) >= 3 and name.startswith(part)]
        if not found:
            raise ValueError(f"weekdays: {part!r} is not a weekday (mon, tue, ... sun)")
        days.append(WEEKDAYS[DAY_NAMES.index(found[0])])
    return days


def _minutes(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"grace: {text!r} is not a whole number of minutes")
    return int(text)


COLUMN_OF = {
    "starts_time": "start",
    "ends_time": "end",
    "grace_minutes": "grace",
    "skip_dates": "skip",
    "course_id": "course",
}


def _problem(error: ErrorDetails) -> str:
    loc = error.get("loc") or ()
    field = str(loc[0]) if loc else "row"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{COLUMN_OF.get(field, field)}: {message}"


def _key(series: SeriesCreate | TimetableSeries, default_timezone: str = "") -> tuple[object, ...]:
    """What makes two rows the same series: name, course, days, times, zone and dates."""
    return (
        series.name,
        series.course_id,
        tuple(series.weekdays),
        series.starts_time.replace(tzinfo=None),
        series.ends_time.replace(tzinfo=None),
        series.timezone or default_timezone,
        series.first_date,
        series.last_date,
    )


def read_timetable_file(path: str) -> str:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return handle.read()
