"""The schema is Alembic's: upgrade on an empty database, downgrade to nothing, via its CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from app.core.tables import Base
from tests.support.settings import REPO

TABLES = {
    "students",
    "face_templates",
    "class_sessions",
    "checkin_attempts",
    "attendance",
    "api_keys",
    "gallery_state",
    "gallery_changes",
    "liveness_challenges",
    "courses",
    "course_students",
    "timetable_series",
    "kiosk_pairings",
    "attendance_events",
    "api_key_courses",
    "checkin_thumbnails",
}


# Alembic's command line.
pytestmark = [pytest.mark.subprocess]


def _alembic(database: Path, *args: str) -> None:
    env = {**os.environ, "ROLLCALL_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=REPO, env=env, check=True, timeout=120
    )


def _tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows} - {"alembic_version"}


@pytest.mark.slow
def test_upgrade_head_then_downgrade_base(tmp_path: Path) -> None:
    database = tmp_path / "empty.db"
    _alembic(database, "upgrade", "head")
    assert _tables(database) == TABLES
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # The migrated schema is the one the code declares: autogenerate finds nothing to do.
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        revision = connection.exec_driver_sql("SELECT revision FROM gallery_state").all()
    engine.dispose()
    assert drift == []
    assert revision == [(0,)]

    _alembic(database, "downgrade", "base")
    assert _tables(database) == set()
