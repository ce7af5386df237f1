"""Migration 0009 on a database holding attendance, on SQLite and PostgreSQL: each existing row
becomes a face mark, present or late by its flag; manual marks without a check-in can be
stored; down keeps the rows the older schema can hold and drops the others."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from app.core.db import create_db_engine
from app.core.migrate import downgrade, upgrade

NOW = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
ROWS = [
    "INSERT INTO students (id, external_id, name, active, created_at, updated_at) "
    "VALUES (1, 'S1', 'A', :yes, :now, :now), (2, 'S2', 'B', :yes, :now, :now), "
    "(3, 'S3', 'C', :yes, :now, :now)",
    "INSERT INTO class_sessions (id, name, starts_at, ends_at, created_at) "
    "VALUES (1, 'X', :now, :now, :now)",
    "INSERT INTO attendance (id, student_id, session_id, period, day, first_checkin_at, "
    "similarity, late, created_at) VALUES "
    "(1, 1, 1, 'session:1', '2026-01-01', :now, 0.7, :no, :now), "
    "(2, 2, 1, 'session:1', '2026-01-01', :now, 0.6, :yes, :now)",
    "INSERT INTO api_keys (id, name, role, prefix, key_hash, created_at) "
    "VALUES (1, 'Ms T', 'teacher', 'rc_x', 'h1', :now)",
]


def test_0009_up_with_data_and_down(database_url: str) -> None:
    upgrade(database_url, "0008")
    engine = create_db_engine(database_url)  # as the service: SQLite enforces foreign keys
    values = {"now": NOW, "yes": True, "no": False}
    try:
        with engine.begin() as connection:
            for row in ROWS:
                connection.execute(text(row), values)
        upgrade(database_url, "0009")
        marks = text("SELECT id, status, source, reason, late FROM attendance ORDER BY id")
        with engine.begin() as connection:
            assert connection.execute(marks).all() == [
                (1, "present", "face", None, False),
                (2, "late", "face", None, True),
            ]
            # A manual excused mark has no check-in time or similarity.
            connection.execute(
                text(
                    "INSERT INTO attendance (id, student_id, session_id, period, day, status, "
                    "source, reason, late, created_at) VALUES (3, 3, 1, 'session:1', "
                    "'2026-01-01', 'excused', 'manual', 'ill', :no, :now)"
                ),
                values,
            )
            connection.execute(
                text(
                    "INSERT INTO attendance_events (id, created_at, student_id, session_id, "
                    "period, action, key_id, key_name, after_status, after_source) VALUES "
                    "(1, :now, 3, 1, 'session:1', 'correction', 1, 'Ms T', 'excused', 'manual')"
                ),
                values,
            )
            connection.execute(text("INSERT INTO courses VALUES (1, 'C', 'C', :now)"), values)
            connection.execute(text("INSERT INTO api_key_courses VALUES (1, 1)"))
            # Deleting a student deletes their events (and marks).
            connection.execute(text("DELETE FROM students WHERE id = 3"))
            events = connection.execute(text("SELECT COUNT(*) FROM attendance_events")).scalar()
            assert events == 0
            connection.execute(
                text(
                    "INSERT INTO attendance (id, student_id, session_id, period, day, status, "
                    "source, late, created_at) VALUES "
                    "(4, 1, NULL, 'day:2026-01-02', '2026-01-02', 'absent', 'manual', :no, :now)"
                ),
                values,
            )
        downgrade(database_url, "0008")
        with engine.connect() as connection:
            kept = "SELECT id, similarity, late FROM attendance ORDER BY id"
            assert connection.execute(text(kept)).all() == [(1, 0.7, False), (2, 0.6, True)]
            revoked = "SELECT revoked_at IS NOT NULL FROM api_keys"
            assert connection.execute(text(revoked)).all() == [(True,)]
        upgrade(database_url)  # and up again over the downgraded rows
        with engine.connect() as connection:
            assert connection.execute(marks).all() == [
                (1, "present", "face", None, False),
                (2, "late", "face", None, True),
            ]
    finally:
        engine.dispose()
