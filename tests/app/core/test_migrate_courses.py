"""Migration 0006 on a database holding attendance, on SQLite and PostgreSQL: rows keep their
values (late false, no course), a deleted course leaves its sessions, and down is clean."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from app.core.db import create_db_engine
from app.core.migrate import downgrade, upgrade

ROWS = [
    "INSERT INTO students (id, external_id, name, active, created_at, updated_at) "
    "VALUES (1, 'S1', 'A', :yes, :now, :now)",
    "INSERT INTO class_sessions (id, name, starts_at, ends_at, created_at) "
    "VALUES (1, 'X', :now, :now, :now)",
    "INSERT INTO attendance (id, student_id, session_id, period, day, first_checkin_at, "
    "similarity, created_at) VALUES (1, 1, 1, 'session:1', '2026-01-01', :now, 0.7, :now)",
]


def test_0006_up_with_data_and_down(database_url: str) -> None:
    upgrade(database_url, "0005")
    engine = create_db_engine(database_url)  # as the service: SQLite enforces foreign keys
    now = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    try:
        with engine.begin() as connection:
            for row in ROWS:
                connection.execute(text(row), {"now": now, "yes": True})
        upgrade(database_url)
        with engine.begin() as connection:
            assert connection.execute(text("SELECT id, late FROM attendance")).all() == [(1, False)]
            sessions = text("SELECT course_id, grace_minutes FROM class_sessions")
            assert connection.execute(sessions).all() == [(None, None)]
            connection.execute(
                text("INSERT INTO courses (id, code, name, created_at) VALUES (1, 'C', 'C', :now)"),
                {"now": now},
            )
            connection.execute(text("INSERT INTO course_students VALUES (1, 1)"))
            connection.execute(text("UPDATE class_sessions SET course_id = 1"))
            connection.execute(text("DELETE FROM courses"))
            assert connection.execute(sessions).all() == [(None, None)]  # the session stays
            roster = connection.execute(text("SELECT COUNT(*) FROM course_students")).scalar()
            assert roster == 0
        downgrade(database_url, "0005")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT id, similarity FROM attendance")).all() == [
                (1, 0.7)
            ]
    finally:
        engine.dispose()
