"""Roster replaces racing each other, on SQLite and PostgreSQL: real threads released together
by a barrier, on a real database (on PostgreSQL, 59-63% answered 500 and some rounds
stored the union of two requests' lists)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import select

from app.core.db import Database
from app.core.migrate import upgrade
from app.core.tables import Course, CourseStudent, Student
from app.services.courses import add_to_roster, set_roster

WRITERS = 20
PER_ROSTER = 10
ROUNDS = 3
Job = TypeVar("Job")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _course_and_students(db: Database, students: int) -> tuple[int, list[int]]:
    with db.session() as session:
        course = Course(code="MATH-1", name="Maths")
        people = [Student(external_id=f"S{i:03d}", name=f"Student {i}") for i in range(students)]
        session.add_all([course, *people])
        session.commit()
        return course.id, [p.id for p in people]


def _stored(db: Database, course_id: int) -> set[int]:
    with db.read_session() as session:
        return set(
            session.scalars(
                select(CourseStudent.student_id).where(CourseStudent.course_id == course_id)
            )
        )


def _at_once(jobs: Sequence[Job], run: Callable[[Job], None]) -> list[BaseException | None]:
    """Runs `run(job)` for every job on its own thread, all released by one barrier; what each
    raised (None: nothing)."""
    barrier = threading.Barrier(len(jobs))

    def one(job: Job) -> BaseException | None:
        barrier.wait(timeout=120)
        try:
            run(job)
        except Exception as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(one, jobs))


@pytest.mark.slow
def test_concurrent_roster_replaces_each_succeed_and_one_of_them_is_stored(db: Database) -> None:
    course_id, ids = _course_and_students(db, WRITERS * PER_ROSTER // 2)
    # Each writer sends its own ten ids; neighbours overlap by five, so a union of two
    # lists, or a list half-deleted by another, is told apart from every list sent.
    sent = [
        frozenset(ids[(w * PER_ROSTER // 2 + k) % len(ids)] for k in range(PER_ROSTER))
        for w in range(WRITERS)
    ]

    def replace(wanted: frozenset[int]) -> None:
        with db.session() as session:
            set_roster(session, course_id, sorted(wanted))

    for _ in range(ROUNDS):
        errors = _at_once(sent, replace)
        assert errors == [None] * WRITERS, [repr(e) for e in errors if e is not None][:3]
        assert _stored(db, course_id) in sent


def test_imports_joining_a_course_do_not_race_a_replace(db: Database) -> None:
    course_id, ids = _course_and_students(db, 2 * PER_ROSTER)
    replaced = ids[:PER_ROSTER]  # the imports join these too, and ten more

    def write(job: tuple[str, int]) -> None:
        kind, student_id = job
        with db.session() as session:
            if kind == "replace":
                set_roster(session, course_id, replaced)
            else:
                add_to_roster(session, course_id, student_id)
                session.commit()

    for _ in range(ROUNDS):
        jobs = [("replace", 0)] + [("join", s) for s in ids]
        errors = _at_once(jobs, write)
        assert errors == [None] * len(jobs), [repr(e) for e in errors if e is not None][:3]
        # Joins after the replace are kept beside it; the replace's own list always is.
        assert set(replaced) <= _stored(db, course_id) <= set(ids)
