"""The PostgreSQL server the tests run on (ROLLCALL_TEST_POSTGRES_URL) and fresh databases on it.

Without that URL the PostgreSQL variants are skipped, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

BACKENDS = ("sqlite", "postgres")
POSTGRES_URL_VARIABLE = "ROLLCALL_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def postgres_server_url() -> URL:
    """The PostgreSQL server to test on; skips (fails in CI) when none is configured."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        reason = (
            f"{POSTGRES_URL_VARIABLE} is not set, so there is no PostgreSQL server to test on "
            "(`source .ci/postgres` installs and starts one)"
        )
        if in_ci():
            pytest.fail(f"{reason}; CI must test PostgreSQL", pytrace=False)
        pytest.skip(reason)
    return make_url(url)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server (its URL), dropped afterwards."""
    server = postgres_server_url()
    name = f"rollcall_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {server.render_as_string(hide_password=True)} "
            f"({POSTGRES_URL_VARIABLE}) refused to create a database: {exc}",
            pytrace=False,
        )
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: Engine, name: str) -> None:
    """DROP ... WITH (FORCE): a test that failed half-way may have left connections open. A
    superuser's backend on it (autovacuum, on a fresh database) cannot be ended by the test role
    (InsufficientPrivilege): it finishes within moments, so the drop is tried again."""
    for attempt in range(20):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except ProgrammingError:
            if attempt == 19:
                raise
            time.sleep(0.5)
