"""The term grid's service on a school's register: one course of STUDENTS students and two
daily series (720 sessions), the register of a month and of the whole range, on a fresh SQLite
file, with the CSV.

    python bench/register.py [--students 500] [--repeat 5]

Reference (2 shared cores, under load): a month (500 x 50 cells) 0.18 s, with the CSV
0.15-0.29 s, 400 days 0.18-0.45 s (0.68 s for a month while ORM attributes were read per cell).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from app.core.db import Database
from app.core.domain import SeriesCreate
from app.core.migrate import upgrade
from app.core.tables import Course, CourseStudent, Student
from app.services import register_grid, timetable

ZONE = "Europe/London"


def _school(db: Database, students: int) -> int:
    monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday() + 36 * 7)
    with db.session() as session:
        course = Course(code="BIG", name="Year 9")
        session.add(course)
        session.flush()
        for n in range(students):
            student = Student(external_id=f"B-{n:04}", name=f"Pupil {n:04}")
            session.add(student)
            session.flush()
            session.add(CourseStudent(course_id=course.id, student_id=student.id))
        for start, end in (("09:00", "09:50"), ("11:00", "11:50")):
            body = SeriesCreate(
                name=f"Year 9 {start}",
                course_id=course.id,
                weekdays=["mon", "tue", "wed", "thu", "fri"],
                starts_time=start,
                ends_time=end,
                first_date=monday,
                last_date=monday + dt.timedelta(days=72 * 7 - 3),
            )
            timetable.create_series(session, body, ZONE)
        session.commit()
        return course.id


def _time(db: Database, course_id: int, days: int, repeat: int, csv: bool) -> float:
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        with db.read_session() as session:
            grid = register_grid.register_grid(
                session,
                course_id=course_id,
                date_from=dt.date.today() - dt.timedelta(days=days - 7),
                date_to=dt.date.today() + dt.timedelta(days=7),
                timezone=ZONE,
            )
            if csv:
                register_grid.grid_csv(grid, ZONE)
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'register.db'}"
        upgrade(url)
        db = Database(url)
        course_id = _school(db, args.students)
        for days, csv in ((35, False), (35, True), (400, False)):
            seconds = _time(db, course_id, days, args.repeat, csv)
            what = f"{args.students} students, {days} days{' + CSV' if csv else ''}"
            print(f"{what}: {seconds:.3f} s")
        db.dispose()


if __name__ == "__main__":
    main()
