"""Migration 0010 on a database holding sessions and attendance, on SQLite and PostgreSQL:
rows keep their values (no series), a deleted series leaves its sessions, and down keeps them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from app.core.db import create_db_engine
from app.core.migrate import downgrade, upgrade

BEFORE = "0009"  # the revision 0010 follows
ROWS = [
    "INSERT INTO students (id, external_id, name, active, created_at, updated_at) "
    "VALUES (1, 'S1', 'A', :yes, :now, :now)",
    "INSERT INTO class_sessions (id, name, starts_at, ends_at, created_at) "
    "VALUES (1, 'X', :now, :now, :now)",
    "INSERT INTO attendance (id, student_id, session_id, period, day, first_checkin_at, "
    "similarity, late, created_at) VALUES (1, 1, 1, 'session:1', '2026-01-01', :now, 0.7, "
    ":no, :now)",
]
SERIES = (
    "INSERT INTO timetable_series (id, name, weekdays, starts_time, ends_time, timezone, "
    "first_date, last_date, skip_dates, created_at) VALUES (1, 'X', '[\"mon\"]', '09:00:00', "
    "'10:00:00', 'Europe/London', '2026-01-05', '2026-01-05', '[]', :now)"
)


def test_0010_up_with_data_and_down(database_url: str) -> None:
    upgrade(database_url, BEFORE)
    engine = create_db_engine(database_url)  # as the service: SQLite enforces foreign keys
    now = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    sessions = text("SELECT id, name, series_id FROM class_sessions")
    try:
        with engine.begin() as connection:
            for row in ROWS:
                connection.execute(text(row), {"now": now, "yes": True, "no": False})
        upgrade(database_url)
        with engine.begin() as connection:
            assert connection.execute(sessions).all() == [(1, "X", None)]
            connection.execute(text(SERIES), {"now": now})
            connection.execute(text("UPDATE class_sessions SET series_id = 1"))
            assert connection.execute(sessions).all() == [(1, "X", 1)]
            connection.execute(text("DELETE FROM timetable_series"))
            assert connection.execute(sessions).all() == [(1, "X", None)]  # the session stays
            connection.execute(text(SERIES), {"now": now})
            connection.execute(text("UPDATE class_sessions SET series_id = 1"))
        downgrade(database_url, BEFORE)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT id, name FROM class_sessions")).all() == [
                (1, "X")
            ]
            attendance = text("SELECT id, session_id, similarity FROM attendance")
            assert connection.execute(attendance).all() == [(1, 1, 0.7)]
        upgrade(database_url)  # and up again over the downgraded data
        with engine.connect() as connection:
            assert connection.execute(sessions).all() == [(1, "X", None)]
    finally:
        engine.dispose()
