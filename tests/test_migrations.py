"""The schema is Alembic's: upgrade on an empty database, downgrade to nothing, via its CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect

from app.tables import Base
from tests.conftest import REPO

TABLES = {
    "students",
    "face_templates",
    "class_sessions",
    "checkin_attempts",
    "attendance",
    "api_keys",
}


def _alembic(database: Path, *args: str) -> None:
    env = {**os.environ, "ROLLCALL_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=REPO, env=env, check=True, timeout=120
    )


def _tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows} - {"alembic_version"}


def test_upgrade_head_then_downgrade_base(tmp_path: Path) -> None:
    database = tmp_path / "empty.db"
    _alembic(database, "upgrade", "head")
    assert _tables(database) == TABLES
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # The migrated schema is the one the code declares: no column or table drifted.
    engine = create_engine(f"sqlite:///{database}")
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        declared = {column.name for column in table.columns}
        assert {c["name"] for c in inspector.get_columns(table.name)} == declared, table.name
    unique = inspector.get_unique_constraints("attendance")
    assert any(set(u["column_names"]) == {"student_id", "period"} for u in unique)
    engine.dispose()

    _alembic(database, "downgrade", "base")
    assert _tables(database) == set()
