"""Unknown keys are throttled per client (2,000 wrong keys at 188/s met no limit):
past the limit a client is answered 429 with Retry-After, on every route, /health too, until
its failures age out; keys that worked from it before keep working."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.settings import ADMIN_KEY, make_settings

LIMIT = 5
WINDOW = 3.0  # seconds


@pytest.fixture
def throttled(tmp_path: Path, database_url: str, embedder: FaceEmbedder) -> Iterator[TestClient]:
    settings = make_settings(
        tmp_path, database_url=database_url, max_key_failures=LIMIT, key_failure_window=WINDOW
    )
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        yield client


def _as(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@pytest.mark.slow
def test_a_client_sending_unknown_keys_is_answered_429_until_they_age_out(
    throttled: TestClient,
) -> None:
    client = throttled
    kiosk = client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()["key"]
    unused = client.post("/api/v1/keys", json={"name": "spare", "role": "viewer"}).json()["key"]
    assert client.get("/api/v1/me", headers=_as(kiosk)).status_code == 200  # worked from here
    for attempt in range(LIMIT):
        wrong = client.get("/api/v1/me", headers=_as(f"rc_wrong{attempt}"))
        assert wrong.status_code == 401, wrong.text
    refusals = [
        client.get("/api/v1/me", headers=_as("rc_wrong-again")),
        client.post("/api/v1/students", headers=_as("rc_wrong"), json={"external_id": "x"}),
        client.get("/api/v1/me", headers=_as(unused)),  # a valid key never seen from here
        client.get("/api/v1/me", headers=_as("")),  # no key at all
    ]
    for refused in refusals:
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_key_failures"
        assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW
    # /health checks no key for a throttled client: no way round the limit, no details.
    assert set(client.get("/health", headers=_as(unused)).json()) == {"status"}
    # Keys that worked from this client before are let through: a kiosk behind the same NAT.
    assert client.get("/api/v1/me", headers=_as(kiosk)).json()["role"] == "kiosk"
    assert client.get("/api/v1/students").status_code == 200  # the admin key, used above
    deadline = time.monotonic() + 30
    while client.get("/api/v1/me", headers=_as(unused)).status_code == 429:
        assert time.monotonic() < deadline, "still throttled long after the window"
        time.sleep(0.2)
    assert client.get("/api/v1/me", headers=_as(unused)).json()["role"] == "viewer"
    assert client.get("/api/v1/me", headers=_as("rc_wrong")).status_code == 401
