"""Migration 0011 on a database holding keys, on SQLite and PostgreSQL: keys keep their rows
(no PIN, no failures), pairing codes can be stored, and down is clean."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, text

from app.core.db import create_db_engine
from app.core.migrate import downgrade, upgrade

KEY = (
    "INSERT INTO api_keys (id, name, role, prefix, key_hash, created_at) "
    "VALUES (1, 'door', 'kiosk', 'rc_abc', :hash, :now)"
)


def test_0011_up_with_keys_and_down(database_url: str) -> None:
    upgrade(database_url, "0010")
    engine = create_db_engine(database_url)
    now = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    try:
        with engine.begin() as connection:
            connection.execute(text(KEY), {"hash": "a" * 64, "now": now})
        upgrade(database_url, "0011")
        with engine.begin() as connection:
            keys = text("SELECT id, name, pin_hash, pin_failures, pin_locked_until FROM api_keys")
            assert connection.execute(keys).all() == [(1, "door", None, 0, None)]
            connection.execute(
                text(
                    "INSERT INTO kiosk_pairings (id, code_hash, created_at, expires_at, key_id) "
                    "VALUES (1, :hash, :now, :now, 1)"
                ),
                {"hash": "b" * 64, "now": now},
            )
            connection.execute(text("DELETE FROM api_keys"))  # the pairing stays, keyless
            pairing = text("SELECT key_id, failed_guesses FROM kiosk_pairings")
            assert connection.execute(pairing).all() == [(None, 0)]
            connection.execute(text(KEY), {"hash": "a" * 64, "now": now})
        downgrade(database_url, "0010")
        assert "kiosk_pairings" not in inspect(engine).get_table_names()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT id, name FROM api_keys")).all() == [(1, "door")]
    finally:
        engine.dispose()
