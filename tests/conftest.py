"""Shared fixtures: the real photos, one loaded model per test run, apps on real databases.
Helpers and constants the tests import live in tests/support/.

The service's tests run on SQLite (a fresh file) and on PostgreSQL (a fresh database on the
server ROLLCALL_TEST_POSTGRES_URL names; `source .ci/postgres` starts one). Without that URL the
PostgreSQL variants are skipped, except in CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.cli import RunCli, run_cli
from tests.support.postgres import BACKENDS, fresh_postgres_database
from tests.support.settings import ADMIN_KEY, FACES_DIR, make_settings


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses the app's database on each backend."""
    if "database_url" not in metafunc.fixturenames:
        return
    metafunc.parametrize("database_url", BACKENDS, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The markers that follow from where a test is or what it uses (CONTRIBUTING.md, "Tests"):
    tests/pages drive a browser (a process); a test parametrized onto PostgreSQL (a
    `database_url`, or a module's server on BACKENDS) runs on it; a `server` is a process; a
    process is slow."""
    pages = Path(__file__).parent / "pages"
    for item in items:
        if pages in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if any(isinstance(value, str) and value == "postgres" for value in params):
            item.add_marker(pytest.mark.postgres)
        if "server" in getattr(item, "fixturenames", ()):  # every `server` fixture is a process
            item.add_marker(pytest.mark.subprocess)
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.subprocess)  # Chromium, beside the pages' server
        if item.get_closest_marker("subprocess") is not None:
            item.add_marker(pytest.mark.slow)  # a process of its own: seconds to start at best


@pytest.fixture
def rollcall(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunCli:
    """`rollcall ARGS` in this process, in `cwd`, with only the ROLLCALL_* settings in `env`."""
    return functools.partial(run_cli, monkeypatch, capsys)


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES_DIR / "people").is_dir():
        pytest.fail(f"The shared face photos are missing: {FACES_DIR} (set ROLLCALL_FACES_DIR)")
    return FACES_DIR


@pytest.fixture(scope="session")
def embedder() -> FaceEmbedder:
    """The default embedder (dlib-resnet), loaded once: loading weights is the slow part."""
    return FaceEmbedder()


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
