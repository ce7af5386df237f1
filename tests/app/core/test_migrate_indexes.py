"""Migration 0013 on SQLite and PostgreSQL: the sessions' start and the attempts' session are
indexed, the rows stay, and down drops the indexes only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, inspect, text

from app.core.db import create_db_engine
from app.core.migrate import downgrade, upgrade

NOW = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
INDEXES = {
    "class_sessions": "ix_class_sessions_starts_at",
    "checkin_attempts": "ix_checkin_attempts_session_id",
}


def _indexes(engine: Engine, table: str) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes(table)}


def test_0013_up_with_rows_and_down(database_url: str) -> None:
    upgrade(database_url, "0012")
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO class_sessions (id, name, starts_at, ends_at, created_at) "
                    "VALUES (1, 'Maths', :now, :now, :now)"
                ),
                {"now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO checkin_attempts (id, created_at, session_id, outcome, box) "
                    "VALUES (1, :now, 1, 'unknown', '[0, 0, 1, 1]')"
                ),
                {"now": NOW},
            )
        for table, index in INDEXES.items():
            assert index not in _indexes(engine, table)
        upgrade(database_url, "0013")
        for table, index in INDEXES.items():
            assert index in _indexes(engine, table)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT session_id FROM checkin_attempts")).all() == [
                (1,)
            ]
        downgrade(database_url, "0012")
        for table, index in INDEXES.items():
            assert index not in _indexes(engine, table)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM class_sessions")).all() == [("Maths",)]
    finally:
        engine.dispose()
