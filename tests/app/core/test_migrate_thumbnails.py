"""Migration 0012 on SQLite and PostgreSQL: a challenge of three actions fits, a thumbnail is
kept with its mark and goes with it, and down keeps one-action challenges."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, text

from app.core.db import create_db_engine
from app.core.migrate import downgrade, upgrade

NOW = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
CHALLENGE = (
    "INSERT INTO liveness_challenges (id, nonce, action, created_at, expires_at) "
    "VALUES (:id, :nonce, :action, :now, :now)"
)


def test_0012_up_with_marks_and_down(database_url: str) -> None:
    upgrade(database_url, "0011")
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(CHALLENGE), {"id": 1, "nonce": "n1", "action": "turn_left", "now": NOW}
            )
        upgrade(database_url, "0012")
        with engine.begin() as connection:
            three = "turn_left look_down turn_right"
            connection.execute(
                text(CHALLENGE), {"id": 2, "nonce": "n2", "action": three, "now": NOW}
            )
            connection.execute(
                text(
                    "INSERT INTO students (id, external_id, name, active, created_at, updated_at) "
                    "VALUES (1, 'S1', 'Ann', :yes, :now, :now)"
                ),
                {"yes": True, "now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO attendance (id, student_id, period, day, late, status, source, "
                    "created_at) VALUES (1, 1, 'day:2026-01-01', '2026-01-01', :no, 'present', "
                    "'face', :now)"
                ),
                {"no": False, "now": NOW},
            )
            connection.execute(
                text(
                    "INSERT INTO checkin_thumbnails (id, attendance_id, created_at, jpeg) "
                    "VALUES (1, 1, :now, :jpeg)"
                ),
                {"now": NOW, "jpeg": b"\xff\xd8\xff"},
            )
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM attendance"))
            assert connection.execute(text("SELECT count(*) FROM checkin_thumbnails")).scalar() == 0
        downgrade(database_url, "0011")
        assert "checkin_thumbnails" not in inspect(engine).get_table_names()
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT nonce, action FROM liveness_challenges"))
            assert kept.all() == [("n1", "turn_left")]
    finally:
        engine.dispose()
