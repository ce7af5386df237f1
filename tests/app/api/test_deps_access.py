"""Access keys and roles: every endpoint but /health needs a key; each role on each endpoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from models.embedder import FaceEmbedder

BOOTSTRAP = "bootstrap-admin-key-for-tests"
PHOTO = "people/kit_harington/kit1.jpg"  # small: the photo endpoints stay cheap

# (method, path, roles allowed besides admin, needs a photo)
ENDPOINTS = [
    ("POST", "/api/v1/students", set(), False),
    ("GET", "/api/v1/students", set(), False),
    ("GET", "/api/v1/students/{student}", set(), False),
    ("PATCH", "/api/v1/students/{student}", set(), False),
    ("POST", "/api/v1/students/{student}/photo", set(), True),
    ("GET", "/api/v1/students/{student}/photos", set(), False),
    ("GET", "/api/v1/students/{student}/photos/{template}", set(), False),
    ("GET", "/api/v1/students/{student}/photos/{template}/image", set(), False),
    ("PUT", "/api/v1/students/{student}/photos/{template}", set(), True),
    ("GET", "/api/v1/students/{student}/record", set(), False),
    ("POST", "/api/v1/students/{student}/verify", {"kiosk"}, True),
    ("POST", "/api/v1/checkins", {"kiosk"}, True),
    ("POST", "/api/v1/checkins/challenge", {"kiosk"}, False),
    ("POST", "/api/v1/courses", set(), False),
    ("GET", "/api/v1/courses", {"viewer", "teacher"}, False),
    ("GET", "/api/v1/courses/{course}", {"viewer", "teacher"}, False),
    ("PATCH", "/api/v1/courses/{course}", set(), False),
    ("GET", "/api/v1/courses/{course}/students", {"viewer", "teacher"}, False),
    ("POST", "/api/v1/sessions", set(), False),
    ("GET", "/api/v1/sessions", {"viewer", "teacher"}, False),
    ("GET", "/api/v1/sessions/today", {"viewer", "teacher"}, False),
    ("GET", "/api/v1/sessions/{session}", {"viewer", "teacher"}, False),
    ("GET", "/api/v1/sessions/{session}/report", {"viewer", "teacher"}, False),
    # Before the roster is replaced (emptied) below: a mark needs a roster member.
    ("PUT", "/api/v1/sessions/{session}/attendance/{student}", {"teacher"}, False),
    ("GET", "/api/v1/sessions/{session}/attendance/{student}/history", {"teacher"}, False),
    ("GET", "/api/v1/sessions/{session}/attendance/{student}/thumbnail", {"teacher"}, False),
    ("DELETE", "/api/v1/sessions/{session}/attendance/{student}", {"teacher"}, False),
    ("PUT", "/api/v1/courses/{course}/students", set(), False),
    ("GET", "/api/v1/attendance", {"viewer", "teacher"}, False),
    ("GET", "/api/v1/reports/attendance", {"viewer", "teacher"}, False),
    ("GET", "/api/v1/reports/register", {"viewer", "teacher"}, False),
    ("PATCH", "/api/v1/sessions/{session}", set(), False),
    ("POST", "/api/v1/timetable/series", set(), False),
    ("GET", "/api/v1/timetable/series", {"viewer"}, False),
    ("GET", "/api/v1/timetable/series/{series}", {"viewer"}, False),
    ("PATCH", "/api/v1/timetable/series/{series}", set(), False),
    ("POST", "/api/v1/keys", set(), False),
    ("GET", "/api/v1/keys", set(), False),
    ("PUT", "/api/v1/keys/{key}/courses", set(), False),
    ("GET", "/metrics", {"viewer"}, False),
    ("GET", "/api/v1/me", {"kiosk", "viewer", "teacher"}, False),
    ("DELETE", "/api/v1/students/{student}/photos/{template}", set(), False),
    ("DELETE", "/api/v1/students/{student}", set(), False),
    ("DELETE", "/api/v1/keys/{key}", set(), False),
    ("DELETE", "/api/v1/courses/{course}", set(), False),
    ("DELETE", "/api/v1/sessions/{session}", set(), False),
    ("DELETE", "/api/v1/timetable/series/{series}", set(), False),
    ("POST", "/api/v1/kiosk/pairings", set(), False),
]
# A manual mark keeps no thumbnail: past the role check, 404 no_thumbnail.
EMPTY_HERE = {"/api/v1/sessions/{session}/attendance/{student}/thumbnail"}
# The kiosk's own routes take no admin (a kiosk key only) or no key at all (the pairing code is
# the credential): their refusals are tested in test_routes_kiosk.py, not by this table.
KIOSK_ROUTES = {
    ("POST", "/api/v1/kiosk/pair"),
    ("PUT", "/api/v1/kiosk/pin"),
    ("POST", "/api/v1/kiosk/unlock"),
}
SERIES = {
    "name": "Art",
    "weekdays": ["mon"],
    "starts_time": "09:00",
    "ends_time": "10:00",
    "first_date": "2026-01-05",
    "last_date": "2026-01-26",
}


@pytest.fixture
def service(tmp_path: Path, embedder: FaceEmbedder) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'keys.db'}",
        admin_key=BOOTSTRAP,
        keep_photos=True,  # so that a photo's image is there to read
        max_key_failures=10_000,  # a wrong key on every route, on purpose: no throttling here
    )
    with TestClient(create_app(settings, embedder)) as client:
        yield client


def _key(client: TestClient, role: str, course_ids: list[int] | None = None) -> str:
    body = {"name": f"{role} key", "role": role, "course_ids": course_ids or []}
    response = client.post("/api/v1/keys", json=body, headers={"X-API-Key": BOOTSTRAP})
    assert response.status_code == 201, response.text
    return response.json()["key"]


def _call(
    client: TestClient,
    method: str,
    path: str,
    key: str | None,
    ids: dict,
    faces_dir: Path,
    photo: bool,
) -> int:
    headers = {"X-API-Key": key} if key is not None else {}
    url = path.format(**ids)
    kwargs: dict = {}
    if photo:
        kwargs["files"] = {"file": ("kit1.jpg", (faces_dir / PHOTO).read_bytes())}
    elif method == "POST" and url.endswith("/students"):
        kwargs["json"] = {"external_id": f"S-{len(ids['made'])}", "name": "Someone"}
        ids["made"].append(1)
    elif method == "POST" and url.endswith("/courses"):
        kwargs["json"] = {"code": f"C-{len(ids['made'])}", "name": "Art"}
        ids["made"].append(1)
    elif method == "PUT" and "/attendance/" in url:
        kwargs["json"] = {"status": "excused", "reason": "ill"}
    elif method == "PUT" and url.endswith("/courses"):
        kwargs["json"] = {"course_ids": [ids["course"]]}
    elif method == "PUT":
        kwargs["json"] = {"student_ids": []}
    elif method == "DELETE" and "/attendance/" in url:  # a mark to undo, whoever undid the last
        admin = {"X-API-Key": BOOTSTRAP}
        assert client.put(url, json={"status": "present"}, headers=admin).status_code == 200
    elif method == "POST" and url.endswith("/sessions"):
        kwargs["json"] = {
            "name": "Art",
            "starts_at": "2026-01-01T09:00Z",
            "ends_at": "2026-01-01T10:00Z",
        }
    elif method == "POST" and url.endswith("/series"):
        kwargs["json"] = SERIES
    elif method == "POST" and url.endswith("/keys"):
        kwargs["json"] = {"name": "another", "role": "viewer"}
    elif url.endswith("/reports/register"):
        kwargs["params"] = {
            "course_id": ids["course"],
            "date_from": "2026-01-01",
            "date_to": "2026-01-31",
        }
    elif method == "PATCH":
        kwargs["json"] = {"name": "Renamed"}
    response = client.request(method, url, headers=headers, **kwargs)
    if method == "PUT" and "/photos/" in url and response.status_code == 200:
        ids["template"] = response.json()["template_id"]  # the replacement's
    return response.status_code


@pytest.mark.slow
def test_each_role_on_each_endpoint(service: TestClient, faces_dir: Path) -> None:
    admin = {"X-API-Key": BOOTSTRAP}
    student = service.post(
        "/api/v1/students", json={"external_id": "K", "name": "Kit"}, headers=admin
    )
    ids = {"student": student.json()["id"], "made": []}
    with (faces_dir / PHOTO).open("rb") as photo:
        ids["template"] = service.post(
            f"/api/v1/students/{ids['student']}/photo", files={"file": photo}, headers=admin
        ).json()["template_id"]
    ids["course"] = service.post(
        "/api/v1/courses", json={"code": "ART", "name": "Art"}, headers=admin
    ).json()["id"]
    roster = {"student_ids": [ids["student"]]}
    assert service.put(f"/api/v1/courses/{ids['course']}/students", json=roster, headers=admin)
    ids["session"] = service.post(
        "/api/v1/sessions",
        json={
            "name": "Art",
            "starts_at": "2026-01-01T09:00Z",
            "ends_at": "2026-01-01T10:00Z",
            "course_id": ids["course"],
        },
        headers=admin,
    ).json()["id"]
    ids["series"] = service.post("/api/v1/timetable/series", json=SERIES, headers=admin).json()[
        "series"
    ]["id"]
    ids["key"] = service.post(
        "/api/v1/keys", json={"name": "spare", "role": "teacher"}, headers=admin
    ).json()["id"]
    keys = {role: _key(service, role) for role in ("admin", "kiosk", "viewer")}
    keys["teacher"] = _key(service, "teacher", [ids["course"]])  # a teacher of ART

    seen = []
    roles = ("kiosk", "viewer", "teacher", "admin")  # admin last: its DELETEs remove things
    for method, path, allowed, photo in ENDPOINTS:
        for role in roles:
            status = _call(service, method, path, keys[role], ids, faces_dir, photo)
            if role == "admin" or role in allowed:
                assert status not in (401, 403), (method, path, role, status)
                assert status < 400 or (path in EMPTY_HERE and status == 404), (
                    method,
                    path,
                    role,
                    status,
                )
            else:
                assert status == 403, (method, path, role, status)
            seen.append((method, path, role))
        assert _call(service, method, path, None, ids, faces_dir, photo) == 401, (method, path)
        assert _call(service, method, path, "rc_wrong", ids, faces_dir, photo) == 401, (
            method,
            path,
        )
    assert len(seen) == len(roles) * len(ENDPOINTS)

    # Every route the app serves is in the table above, so none was forgotten.
    served = {
        (method.upper(), path)
        for path, operations in service.get("/openapi.json").json()["paths"].items()
        for method in operations
        if path != "/health" and (method.upper(), path) not in KIOSK_ROUTES
    }
    listed = {
        (
            m,
            p.replace("{student}", "{student_id}")
            .replace("{session}", "{session_id}")
            .replace("{key}", "{key_id}")
            .replace("{template}", "{template_id}")
            .replace("{course}", "{course_id}")
            .replace("{series}", "{series_id}"),
        )
        for m, p, _, _ in ENDPOINTS
    }
    assert served == listed


def test_health_needs_no_key_and_errors_are_json(service: TestClient) -> None:
    assert service.get("/health").status_code == 200
    missing = service.get("/api/v1/attendance")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    wrong = service.get("/api/v1/attendance", headers={"X-API-Key": "nope"})
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    kiosk = _key(service, "kiosk")
    forbidden = service.get("/api/v1/students", headers={"X-API-Key": kiosk})
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"


def test_me_tells_a_key_its_role(service: TestClient) -> None:
    for role in ("kiosk", "viewer", "teacher"):
        answer = service.get("/api/v1/me", headers={"X-API-Key": _key(service, role)})
        assert answer.status_code == 200
        assert answer.json() == {"role": role, "liveness": "off"}
    bootstrap = service.get("/api/v1/me", headers={"X-API-Key": BOOTSTRAP})
    assert bootstrap.json() == {"role": "admin", "liveness": "off"}
    assert service.get("/api/v1/me", headers={"X-API-Key": "rc_wrong"}).status_code == 401


def test_keys_are_stored_hashed_shown_once_and_revocable(
    service: TestClient, tmp_path: Path
) -> None:
    admin = {"X-API-Key": BOOTSTRAP}
    created = service.post(
        "/api/v1/keys", json={"name": "front desk", "role": "kiosk"}, headers=admin
    )
    body = created.json()
    key = body["key"]
    assert key.startswith("rc_") and len(key) > 40 and body["prefix"] == key[:10]
    listed = service.get("/api/v1/keys", headers=admin).json()
    assert all("key" not in row for row in listed)
    with sqlite3.connect(tmp_path / "keys.db") as connection:
        stored = connection.execute("SELECT key_hash FROM api_keys").fetchall()
        dump = "\n".join(connection.iterdump())
    assert key not in dump and len(stored[0][0]) == 64

    kiosk = {"X-API-Key": key}
    assert service.get("/api/v1/attendance", headers=kiosk).status_code == 403  # valid, wrong role
    revoked = service.delete(f"/api/v1/keys/{body['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    after = service.post("/api/v1/checkins", files={"file": ("x.jpg", b"x")}, headers=kiosk)
    assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_api_key"
