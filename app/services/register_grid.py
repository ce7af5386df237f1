"""A course's register over a date range: its students by its sessions, each cell a status,
with totals per student and per session, for the office's term grid and a paper register."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.core.errors import Unprocessable
from app.core.tables import Attendance, ClassSession, Course, CourseStudent, Student, as_utc
from app.services.attendance import csv_cell
from app.services.courses import visible_course

STATUSES = ("present", "late", "excused", "absent")
# A register longer than a school year is not one a person reads; the bound keeps one answer
# (students x sessions cells) to what a browser lays out in a second.
MAX_RANGE_DAYS = 400


def _zero() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


@dataclass(frozen=True)
class GridCell:
    """A student's status in one session: a mark (source face or manual), or, with no mark,
    absent once the session has started (source None) and None before."""

    status: str
    source: str | None
    reason: str | None


@dataclass
class GridSession:
    session: ClassSession
    held: bool  # started by the time of the request
    session_id: int = 0  # the session's id, read once (see register_grid)
    totals: dict[str, int] = field(default_factory=_zero)


@dataclass
class GridRow:
    student: Student
    cells: list[GridCell | None]
    totals: dict[str, int] = field(default_factory=_zero)

    @property
    def held(self) -> int:
        return sum(self.totals.values())

    @property
    def rate(self) -> float | None:
        """Present or late, of the sessions held less those excused (as the rates report)."""
        counted = self.held - self.totals["excused"]
        if counted <= 0:
            return None
        return round((self.totals["present"] + self.totals["late"]) / counted, 4)


@dataclass(frozen=True)
class RegisterGrid:
    course: Course
    date_from: dt.date
    date_to: dt.date
    sessions: list[GridSession]
    rows: list[GridRow]


def _sessions_in(
    db: Session, course_id: int, date_from: dt.date, date_to: dt.date, zone: ZoneInfo
) -> list[ClassSession]:
    start = dt.datetime.combine(date_from, dt.time(), zone)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), zone)
    query = select(ClassSession).where(
        ClassSession.course_id == course_id,
        ClassSession.starts_at >= start,
        ClassSession.starts_at < end,
    )
    return list(db.scalars(query.order_by(ClassSession.starts_at, ClassSession.id)))


def _students(db: Session, course_id: int, marked_ids: set[int]) -> list[Student]:
    """The roster's active members, and anyone marked in the range (left since, or not on it)."""
    on_roster = select(CourseStudent.student_id).where(CourseStudent.course_id == course_id)
    query = select(Student).where(
        or_(and_(Student.active, Student.id.in_(on_roster)), Student.id.in_(sorted(marked_ids)))
    )
    return sorted(db.scalars(query), key=lambda s: (s.name.casefold(), s.external_id, s.id))


def register_grid(
    db: Session,
    *,
    course_id: int,
    date_from: dt.date,
    date_to: dt.date,
    timezone: str,
    course_ids: frozenset[int] | None = None,
) -> RegisterGrid:
    """Every session of the course that starts on a day of the range (in the school's zone),
    and every student it expects, each cell the student's mark. A held session (started) with
    no mark is absent; one still to come has empty cells. A teacher key: its courses only."""
    if date_from > date_to:
        raise Unprocessable(
            "empty_date_range", f"The range starts ({date_from}) after it ends ({date_to})."
        )
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise Unprocessable(
            "date_range_too_long",
            f"A register covers at most {MAX_RANGE_DAYS} days; ask for a shorter range.",
            max_days=MAX_RANGE_DAYS,
        )
    course = visible_course(db, course_id, course_ids)
    found = _sessions_in(db, course_id, date_from, date_to, ZoneInfo(timezone))
    now = dt.datetime.now(dt.UTC)
    columns = [GridSession(one, as_utc(one.starts_at) <= now, one.id) for one in found]
    marks: dict[tuple[int, int], Attendance] = {}
    if found:
        query = select(Attendance).where(Attendance.session_id.in_([s.id for s in found]))
        for mark in db.scalars(query):
            marks[(mark.student_id, mark.session_id or 0)] = mark
    students = _students(db, course_id, {sid for sid, _ in marks})
    cells = {key: GridCell(m.status, m.source, m.reason) for key, m in marks.items()}
    rows = [_row(student, columns, cells) for student in students]
    return RegisterGrid(course, date_from, date_to, columns, rows)


# A held session without a mark: the same cell for everyone (500 x 50 of them in a month).
ABSENT = GridCell("absent", None, None)


def _row(
    student: Student, columns: list[GridSession], cells: dict[tuple[int, int], GridCell]
) -> GridRow:
    """The student's cells. Ids are read once (the columns hold theirs): an ORM attribute
    costs a lookup each time, and in this loop that was most of a month's register of 500."""
    student_id = student.id
    row = GridRow(student, [])
    for column in columns:
        cell = cells.get((student_id, column.session_id))
        if cell is None and column.held:
            cell = ABSENT
        row.cells.append(cell)
        if cell is not None:
            row.totals[cell.status] += 1
            column.totals[cell.status] += 1
    return row


def grid_filename(grid: RegisterGrid) -> str:
    """register-<course code>-<from>-<to>.csv, the code kept to characters every system's
    file names take."""
    code = re.sub(r"[^A-Za-z0-9_-]+", "_", grid.course.code).strip("_") or str(grid.course.id)
    return f"register-{code}-{grid.date_from.isoformat()}-{grid.date_to.isoformat()}.csv"


def grid_csv(grid: RegisterGrid, timezone: str) -> str:
    """A row per student (a column per session, then the totals), then a row per status with
    each session's count. It starts with a byte-order mark, so that a spreadsheet opening it
    by double-click reads UTF-8 names as UTF-8."""
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    heads = [
        f"{as_utc(c.session.starts_at).astimezone(zone):%Y-%m-%d %H:%M} {c.session.name}"
        for c in grid.sessions
    ]
    writer.writerow(csv_cell(v) for v in ["external_id", "name", *heads, *STATUSES, "rate"])
    for row in grid.rows:
        cells: list[object] = [row.student.external_id, row.student.name]
        cells += [cell.status if cell is not None else "" for cell in row.cells]
        cells += [row.totals[status] for status in STATUSES]
        cells += [f"{row.rate:.4f}" if row.rate is not None else ""]
        writer.writerow(csv_cell(value) for value in cells)
    for status in STATUSES:
        totals: list[object] = ["", f"total {status}"]
        totals += [c.totals[status] for c in grid.sessions]
        writer.writerow(csv_cell(value) for value in totals)
    return out.getvalue()
