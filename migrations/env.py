"""Alembic environment: runs migrations on the database Rollcall's settings name."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app.core.config import get_settings
from app.core.db import create_db_engine, migration_lock
from app.core.tables import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    # A URL set programmatically (app start-up, tests) wins over the settings.
    return config.attributes.get("database_url") or get_settings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can't ALTER most things
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        # One process at a time (uvicorn's workers all migrate at start-up).
        with migration_lock(_url()):
            engine = create_db_engine(_url(), foreign_keys=False)
            with engine.connect() as connection:
                _run(connection)
            engine.dispose()
