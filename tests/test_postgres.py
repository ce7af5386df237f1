"""The schema on PostgreSQL: Alembic upgrades an empty database to head and back to base.

The service's own tests run on PostgreSQL too (tests/conftest.py parametrizes them); this file
holds what only PostgreSQL needs checking. Skipped without ROLLCALL_TEST_POSTGRES_URL, failed in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from app.migrate import downgrade
from app.tables import Base
from tests.conftest import REPO, fresh_postgres_database


def _alembic(database_url: str, *args: str) -> None:
    env = {**os.environ, "ROLLCALL_DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=REPO, env=env, check=True, timeout=120
    )


def test_upgrade_head_then_downgrade_base_on_postgres() -> None:
    with fresh_postgres_database() as database_url:
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            _alembic(database_url, "upgrade", "head")
            inspector = inspect(engine)
            tables = set(inspector.get_table_names()) - {"alembic_version"}
            assert tables == set(Base.metadata.tables)

            # The migrated schema is exactly the one the code declares: types, keys, indexes.
            with engine.connect() as connection:
                drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            assert drift == []
            unique = {
                u["name"]: set(u["column_names"])
                for u in inspector.get_unique_constraints("attendance")
            }
            assert unique["uq_attendance_student_period"] == {"student_id", "period"}
            columns = {c["name"]: c["type"] for c in inspector.get_columns("face_templates")}
            assert columns["embedding"].__visit_name__ == "BYTEA"
            created = {c["name"]: c["type"] for c in inspector.get_columns("attendance")}
            assert created["first_checkin_at"].timezone is True  # timestamptz: stored as UTC

            # In-process (the CLI costs seconds of importing torch): the same Alembic command.
            downgrade(database_url, "base")
            assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()
        finally:
            engine.dispose()
