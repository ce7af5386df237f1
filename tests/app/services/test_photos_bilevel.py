"""A 1-bit (dithered) photo is refused with a clear code, not enrolled to fail every verify."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from app.core.config import Settings
from tests.support.helpers import post_bytes
from tests.support.settings import count_rows

PHOTO = Path("people") / "kit_harington" / "kit1.jpg"


def _dithered(path: Path) -> bytes:
    out = io.BytesIO()
    Image.open(path).convert("1").save(out, "PNG")  # a scan's or a fax's black and white
    return out.getvalue()


def test_a_dithered_photo_is_refused_on_enrollment_and_check_in(
    client: TestClient, settings: Settings, faces_dir: Path
) -> None:
    student = client.post("/api/v1/students", json={"external_id": "K", "name": "Kit"}).json()
    dithered = _dithered(faces_dir / PHOTO)
    for url in (f"/api/v1/students/{student['id']}/photo", "/api/v1/checkins"):
        refused = post_bytes(client, url, "scan.png", dithered)
        assert refused.status_code == 422, (url, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "unusable_photo" and "colour or grey" in error["message"]
    assert count_rows(settings.database_url, "face_templates") == 0
    assert count_rows(settings.database_url, "checkin_attempts") == 0
    # The same photo in grey enrolls.
    grey = io.BytesIO()
    Image.open(faces_dir / PHOTO).convert("L").save(grey, "PNG")
    url = f"/api/v1/students/{student['id']}/photo"
    assert post_bytes(client, url, "grey.png", grey.getvalue()).status_code == 200
