"""A PostgreSQL server that goes silent or down under a running service (a hung
server hung every request, /health too, for over 60 s; a server down answered 500).

The real app on a real PostgreSQL database, reached through a proxy that stops forwarding
(as a server whose processes are stopped) or closes every connection (as a server shut down).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.core.db import Database, unbounded
from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.postgres import fresh_postgres_database
from tests.support.proxy import OutageProxy
from tests.support.settings import ADMIN_KEY, make_settings

TIMEOUT = 2.0  # ROLLCALL_DATABASE_TIMEOUT for the test: every answer must come soon after
SOON = 20.0  # seconds: far under the 60 s a request hung before, with room for a loaded CI


# PostgreSQL behind a proxy that fails.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def proxied(tmp_path: Path, embedder: FaceEmbedder) -> Iterator[tuple[TestClient, OutageProxy]]:
    with fresh_postgres_database() as url, OutageProxy(url) as proxy:
        settings = make_settings(tmp_path, database_url=proxy.url(), database_timeout=TIMEOUT)
        with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
            yield client, proxy


def _timed(call) -> tuple[httpx.Response, float]:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def _assert_unavailable(response: httpx.Response, elapsed: float) -> None:
    print(f"{response.request.method} {response.request.url.path}: {elapsed:.1f} s")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed < SOON, f"answered after {elapsed:.1f} s"


def _recovers(client: TestClient) -> None:
    deadline = time.monotonic() + 60
    while client.get("/api/v1/students").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)


def _requests_while_out(client: TestClient) -> None:
    _assert_unavailable(*_timed(lambda: client.get("/api/v1/students")))
    # A body is admitted by the request guard (its key checked first): the same answer.
    created = lambda: client.post("/api/v1/students", json={"external_id": "B", "name": "B"})  # noqa: E731
    _assert_unavailable(*_timed(created))
    health, elapsed = _timed(lambda: client.get("/health"))
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    assert "Retry-After" in health.headers and elapsed < SOON


def test_a_silent_server_answers_503_soon_and_the_service_recovers(
    proxied: tuple[TestClient, OutageProxy],
) -> None:
    client, proxy = proxied
    assert client.post("/api/v1/students", json={"external_id": "A", "name": "A"}).is_success
    proxy.freeze()
    _requests_while_out(client)
    proxy.thaw()
    _recovers(client)
    assert client.get("/health").json()["status"] == "ok"


def test_a_server_down_answers_503_and_the_service_recovers(
    proxied: tuple[TestClient, OutageProxy],
) -> None:
    client, proxy = proxied
    assert client.get("/api/v1/students").status_code == 200
    proxy.down()
    _requests_while_out(client)
    proxy.up()
    _recovers(client)
    assert client.post("/api/v1/students", json={"external_id": "C", "name": "C"}).is_success


def test_a_slow_statement_is_ended_unless_it_may_take_its_time() -> None:
    """The timeout ends a slow statement (503 in a request), except the gallery's full load."""
    with fresh_postgres_database() as url:
        database = Database(url, timeout=1.0)
        try:
            with database.read_session() as session, pytest.raises(OperationalError):
                session.execute(text("SELECT pg_sleep(4)"))
            with database.read_session() as session:
                options = unbounded(session)
                session.execute(text("SELECT pg_sleep(4)"), execution_options=options)
        finally:
            database.dispose()
