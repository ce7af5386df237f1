"""Where the repository and the shared photos are, and the settings of a test app."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.core.config import Settings

REPO = Path(__file__).resolve().parents[2]
FACES_DIR = Path(os.environ.get("ROLLCALL_FACES_DIR", REPO.parent / "shared" / "faces"))

ADMIN_KEY = "test-admin-key-0123456789"  # the bootstrap admin key of every test app


def count_rows(database_url: str, table: str) -> int:
    """Rows in a table of the app's database, read as an operator would (any backend)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    overrides.setdefault("database_url", f"sqlite:///{tmp_path / 'rollcall.db'}")
    overrides.setdefault("admin_key", ADMIN_KEY)
    return Settings(
        _env_file=None,  # tests never read a developer's .env
        **overrides,
    )
