"""Check-in thumbnails, on each database: kept with the mark of a live check-in, shown to
admins and the course's teachers only, purged after their retention and deleted with the
student; without liveness, kept only when ROLLCALL_KEEP_THUMBNAILS=always."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.core.db import Database
from app.main import create_app
from app.services.operations import purge
from models.embedder import FaceEmbedder
from tests.app.services.test_liveness import (
    ENROLLED,
    KIOSK_MS,
    ONE_TURN,
    PERSON,
    _burst,
    _challenge,
    _turning,
    serve_colin,
)
from tests.support.helpers import post_file
from tests.support.settings import ADMIN_KEY, count_rows, make_settings


def _course_session(client: TestClient, code: str, members: list[int]) -> int:
    """A course with this roster and a session of it in progress."""
    course = client.post("/api/v1/courses", json={"code": code, "name": code}).json()["id"]
    assert client.put(f"/api/v1/courses/{course}/students", json={"student_ids": members})
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    session = client.post(
        "/api/v1/sessions",
        json={
            "name": code,
            "course_id": course,
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        },
    )
    assert session.status_code == 201, session.text
    return int(session.json()["id"])


def _key(client: TestClient, role: str, course_ids: list[int] | None = None) -> dict[str, str]:
    body: dict[str, object] = {"name": f"a {role}", "role": role}
    if course_ids is not None:
        body["course_ids"] = course_ids
    created = client.post("/api/v1/keys", json=body)
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["key"]}


@pytest.fixture
def service(tmp_path: Path, database_url: str, embedder: FaceEmbedder) -> Iterator[TestClient]:
    yield from serve_colin(tmp_path, database_url, embedder, **ONE_TURN)


def test_a_live_check_in_keeps_its_face_for_the_courses_staff_only(
    service: TestClient, database_url: str
) -> None:
    [colin] = service.get("/api/v1/students").json()["items"]
    session = _course_session(service, "ART", [colin["id"]])
    other = service.get(f"/api/v1/sessions/{session}").json()["course_id"]
    elsewhere = _course_session(service, "BIO", [])
    bio = service.get(f"/api/v1/sessions/{elsewhere}").json()["course_id"]

    challenge = _challenge(service)
    answer = service.post(
        "/api/v1/checkins",
        files=[("file", (f"f{i}.jpg", f)) for i, f in enumerate(_turning(challenge["action"]))],
        data={
            "nonce": challenge["nonce"],
            "frame_ms": [str(t) for t in KIOSK_MS],
            "session_id": str(session),
        },
    )
    assert answer.status_code == 200 and answer.json()["faces"][0]["decision"] == "present"
    [row] = service.get("/api/v1/attendance").json()
    assert row["has_thumbnail"] is True
    [reported] = service.get(f"/api/v1/sessions/{session}/report").json()["present"]
    assert reported["has_thumbnail"] is True
    [entry] = service.get(f"/api/v1/students/{colin['id']}/record").json()["history"]
    assert entry["has_thumbnail"] is True  # the student page shows it

    url = f"/api/v1/sessions/{session}/attendance/{colin['id']}/thumbnail"
    shown = service.get(url)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(shown.content))
    assert image.format == "JPEG" and max(image.size) == 96
    assert service.get(url, headers=_key(service, "teacher", [other])).content == shown.content
    for refused, status in (
        (_key(service, "teacher", [bio]), 404),
        (_key(service, "kiosk"), 403),
        (_key(service, "viewer"), 403),
    ):
        assert service.get(url, headers=refused).status_code == status
    missing = service.get(f"/api/v1/sessions/{elsewhere}/attendance/{colin['id']}/thumbnail")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_thumbnail"

    database = Database(database_url)
    with database.session() as db:
        kept = purge(db, 30, dt.datetime.now(dt.UTC) + dt.timedelta(days=29), thumbnail_days=30)
        assert kept.thumbnails == 0
        gone = purge(db, 90, dt.datetime.now(dt.UTC) + dt.timedelta(days=31), thumbnail_days=30)
        assert gone.thumbnails == 1
    database.dispose()
    assert count_rows(database_url, "attendance") == 1
    assert service.get("/api/v1/attendance").json()[0]["has_thumbnail"] is False
    assert service.get(url).status_code == 404


def test_thumbnails_go_with_the_student(service: TestClient, database_url: str) -> None:
    challenge = _challenge(service)
    answer = _burst(service, _turning(challenge["action"]), challenge["nonce"], KIOSK_MS)
    assert answer["faces"][0]["decision"] == "present", answer
    assert count_rows(database_url, "checkin_thumbnails") == 1
    student = answer["faces"][0]["student"]["id"]
    assert service.delete(f"/api/v1/students/{student}").status_code in (200, 204)
    assert count_rows(database_url, "checkin_thumbnails") == 0


@pytest.mark.parametrize(("keep", "kept"), [("liveness", 0), ("always", 1)])
def test_without_liveness_thumbnails_are_kept_only_when_set(
    tmp_path: Path, database_url: str, embedder: FaceEmbedder, keep: str, kept: int
) -> None:
    settings = make_settings(tmp_path, database_url=database_url, keep_thumbnails=keep)
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        created = client.post("/api/v1/students", json={"external_id": "CP", "name": "Colin"})
        post_file(client, f"/api/v1/students/{created.json()['id']}/photo", PERSON / ENROLLED)
        answer = post_file(client, "/api/v1/checkins", PERSON / "Colin_Powell_0004.jpg")
        assert answer.json()["faces"][0]["decision"] == "present", answer.text
        assert client.get("/api/v1/attendance").json()[0]["has_thumbnail"] is bool(kept)
    assert count_rows(database_url, "checkin_thumbnails") == kept
