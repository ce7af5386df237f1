"""Small holes a careless client or an attacker would find: each refused or closed."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.support.settings import ADMIN_KEY, count_rows

PHOTO = Path("people") / "kit_harington" / "kit1.jpg"


def test_an_admin_key_cannot_revoke_itself(client: TestClient) -> None:
    created = client.post("/api/v1/keys", json={"name": "ops", "role": "admin"}).json()
    own = {"X-API-Key": created["key"]}
    refused = client.delete(f"/api/v1/keys/{created['id']}", headers=own)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "own_key"
    assert client.get("/api/v1/keys", headers=own).status_code == 200  # still works
    # Another admin key may revoke it.
    revoked = client.delete(f"/api/v1/keys/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/keys", headers=own).status_code == 401


def test_two_files_where_one_photo_is_taken_are_refused(
    client: TestClient, settings: Settings, faces_dir: Path
) -> None:
    student = client.post("/api/v1/students", json={"external_id": "K", "name": "Kit"}).json()
    photo = (faces_dir / PHOTO).read_bytes()
    two = [("file", ("a.jpg", photo)), ("file", ("b.jpg", photo))]
    for url in (  # (a check-in takes several: a burst of frames)
        f"/api/v1/students/{student['id']}/photo",
        f"/api/v1/students/{student['id']}/verify",
    ):
        response = client.post(url, files=two)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["code"] == "several_files"
    assert count_rows(settings.database_url, "face_templates") == 0
    assert count_rows(settings.database_url, "checkin_attempts") == 0


def test_security_headers(client: TestClient) -> None:
    created = client.post("/api/v1/keys", json={"name": "kiosk", "role": "kiosk"})
    assert created.headers["Cache-Control"] == "no-store"  # it holds a new key
    for response in (created, client.get("/api/v1/students"), client.get("/health")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = client.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    refused = client.get("/api/v1/students", headers={"X-API-Key": "wrong"})
    assert refused.headers["X-Content-Type-Options"] == "nosniff"


def test_health_shows_details_only_with_a_key(client: TestClient) -> None:
    anonymous = client.get("/health", headers={"X-API-Key": ""})
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    wrong = client.get("/health", headers={"X-API-Key": "not-a-key"})
    assert wrong.json() == {"status": "ok"}
    detailed = client.get("/health", headers={"X-API-Key": ADMIN_KEY}).json()
    assert detailed["status"] == "ok" and detailed["backbone"] and detailed["database"] is True


def test_a_wrong_method_answers_405_with_allow(client: TestClient) -> None:
    """The 405 came without the Allow header HTTP requires."""
    response = client.put("/api/v1/keys")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
