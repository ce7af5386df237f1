"""Shared fixtures: the real photos, one loaded model per test run, apps on real databases.

The service's tests run on SQLite (a fresh file) and on PostgreSQL (a fresh database on the
server ROLLCALL_TEST_POSTGRES_URL names; `source .ci/postgres` starts one). Without that URL the
PostgreSQL variants are skipped, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.main import create_app
from models.embedder import FaceEmbedder

REPO = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("ROLLCALL_FACES_DIR", REPO.parent / "shared" / "faces"))

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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses the app's database on each backend."""
    if "database_url" not in metafunc.fixturenames:
        return
    metafunc.parametrize("database_url", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES_DIR / "people").is_dir():
        pytest.fail(f"The shared face photos are missing: {FACES_DIR} (set ROLLCALL_FACES_DIR)")
    return FACES_DIR


@pytest.fixture(scope="session")
def embedder() -> FaceEmbedder:
    """The default embedder (dlib-resnet), loaded once: loading weights is the slow part."""
    return FaceEmbedder()


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


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'rollcall.db'}"
    elif backend == "postgres":
        with fresh_postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown database backend {backend!r}")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
def client(settings: Settings, embedder: FaceEmbedder) -> Iterator[TestClient]:
    """The real app on a fresh database (SQLite and PostgreSQL), with the real model."""
    app = create_app(settings, embedder)
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}) as test_client:
        yield test_client
