"""The schema on PostgreSQL: Alembic upgrades an empty database to head and back to base.

The service's own tests run on PostgreSQL too (tests/conftest.py parametrizes them); this file
holds what only PostgreSQL needs checking. Skipped without ROLLCALL_TEST_POSTGRES_URL, failed in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from app.core.migrate import downgrade, upgrade
from app.core.tables import Base
from tests.support.postgres import fresh_postgres_database
from tests.support.settings import REPO

# Alembic's command line on PostgreSQL.
pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]


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


def _id_types(engine: Engine) -> dict[str, str]:
    inspector = inspect(engine)
    return {
        f"{table}.{column['name']}": column["type"].__visit_name__
        for table in inspector.get_table_names()
        if table != "alembic_version"
        for column in inspector.get_columns(table)
        if column["name"] in ("id", "revision")
        or (column["name"].endswith("_id") and column["name"] != "external_id")
    }


def test_ids_migrate_to_64_bits_and_back_keeping_rows() -> None:
    """Revision 0004 widens every id (and its sequence) on PostgreSQL; downgrade narrows them."""
    with fresh_postgres_database() as database_url:
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            upgrade(database_url, "0003")
            with engine.begin() as connection:
                connection.execute(text(STUDENT_INSERT), {"external_id": "S1"})
            assert set(_id_types(engine).values()) == {"INTEGER"}

            upgrade(database_url, "0004")
            types = _id_types(engine)
            assert set(types.values()) == {"BIGINT"} and len(types) == 14, types
            with engine.begin() as connection:
                # The sequence is 64-bit too: ids go on past 2^31.
                connection.execute(text("SELECT setval('students_id_seq', :v)"), {"v": 2**40})
                connection.execute(text(STUDENT_INSERT), {"external_id": "S2"})
                ids = connection.execute(text("SELECT id FROM students ORDER BY id")).scalars()
                assert list(ids) == [1, 2**40 + 1]
                connection.execute(text("DELETE FROM students WHERE id > 1"))
                connection.execute(text("SELECT setval('students_id_seq', 1)"))

            downgrade(database_url, "0003")
            assert set(_id_types(engine).values()) == {"INTEGER"}
            with engine.connect() as connection:
                assert connection.execute(text("SELECT external_id FROM students")).all() == [
                    ("S1",)
                ]
        finally:
            engine.dispose()


STUDENT_INSERT = (
    "INSERT INTO students (external_id, name, active, created_at, updated_at) "
    "VALUES (:external_id, 'Sam', true, now(), now())"
)
