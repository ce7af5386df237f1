"""Bad uploads: each answers a clear 4xx with a stable code, and nothing is written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.core.config import Settings
from tests.support.helpers import post_bytes, uniform_grey_png, uniform_png, unsupported_dds
from tests.support.settings import count_rows


def huge_png(side: int = 20_000) -> bytes:
    """A real, valid side x side greyscale PNG: a few hundred KB that decode to 400 MB."""
    return uniform_grey_png(side, b"\x00")


def _jpeg(path: Path) -> bytes:
    return path.read_bytes()


def _blank_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 180, 160)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def enrolled_student(client: TestClient) -> int:
    return client.post("/api/v1/students", json={"external_id": "S1", "name": "Sam"}).json()["id"]


def _rows(settings: Settings) -> dict[str, int]:
    return {
        table: count_rows(settings.database_url, table)
        for table in ("face_templates", "checkin_attempts", "attendance")
    }


@pytest.mark.slow
def test_bad_uploads(
    client: TestClient, settings: Settings, faces_dir: Path, enrolled_student: int
) -> None:
    photo = (faces_dir / "people" / "barack_obama" / "obama.jpg").read_bytes()
    cases = {
        "notes.txt": (b"just some text, not an image\n", 422, "not_an_image"),
        "truncated.jpg": (photo[: len(photo) // 3], 422, "corrupt_image"),
        "empty.jpg": (b"", 422, "empty_file"),
        "huge.png": (huge_png(), 413, "image_too_large"),
        # 381 KB of 16-bit RGBA claiming 7000x7000: its decode would peak far over the budget
        "rgba16.png": (uniform_png(7000, b"\x10\x00" * 4, 6, 16), 413, "image_too_large"),
        "texture.dds": (unsupported_dds(), 422, "unsupported_image"),  # Pillow cannot decode it
        "blank.jpg": (_blank_photo(), 422, "no_face"),
    }
    urls = [
        "/api/v1/checkins",
        f"/api/v1/students/{enrolled_student}/photo",
        f"/api/v1/students/{enrolled_student}/verify",
    ]
    for url in urls:
        for name, (data, status, code) in cases.items():
            response = post_bytes(client, url, name, data)
            assert response.status_code == status, (url, name, response.text)
            error = response.json()["error"]
            assert error["code"] == code, (url, name, error)
            assert error["message"]
    assert _rows(settings) == {"face_templates": 0, "checkin_attempts": 0, "attendance": 0}


def test_upload_size_limit(tmp_path: Path, embedder, faces_dir: Path) -> None:
    from app.main import create_app
    from tests.support.settings import ADMIN_KEY, make_settings

    ADMIN = {"X-API-Key": ADMIN_KEY}

    settings = make_settings(tmp_path, max_upload_bytes=50_000)
    with TestClient(create_app(settings, embedder), headers=ADMIN) as client:
        photo = (faces_dir / "people" / "barack_obama" / "obama.jpg").read_bytes()
        assert len(photo) > 50_000
        response = post_bytes(client, "/api/v1/checkins", "obama.jpg", photo)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "upload_too_large"
        missing_file = client.post("/api/v1/checkins", data={"session_id": "1"})
        assert missing_file.status_code == 422
        assert missing_file.json()["error"]["code"] == "invalid_request"
    assert _rows(settings)["checkin_attempts"] == 0


def test_unknown_student_id(client: TestClient, faces_dir: Path) -> None:
    photo = (faces_dir / "people" / "barack_obama" / "obama.jpg").read_bytes()
    for method, url in (
        ("get", "/api/v1/students/404"),
        ("patch", "/api/v1/students/404"),
        ("delete", "/api/v1/students/404"),
    ):
        kwargs = {"json": {"name": "x"}} if method == "patch" else {}
        response = getattr(client, method)(url, **kwargs)
        assert (
            response.status_code == 404 and response.json()["error"]["code"] == "student_not_found"
        )
    for url in ("/api/v1/students/404/photo", "/api/v1/students/404/verify"):
        response = post_bytes(client, url, "obama.jpg", photo)
        assert response.status_code == 404


def test_upload_refused_from_its_content_length(client: TestClient) -> None:
    big = b"\xff\xd8" + b"0" * (11 * 1024 * 1024)  # over the 10 MiB default
    response = post_bytes(client, "/api/v1/checkins", "big.jpg", big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"


def test_the_upload_limit_holds_for_each_frame_of_a_burst(
    tmp_path: Path, embedder, faces_dir: Path
) -> None:
    """A burst of frames each under ROLLCALL_MAX_UPLOAD_BYTES was refused as a whole,
    though `deps.read_photos` says the limit holds for each."""
    from app.main import create_app
    from tests.support.settings import ADMIN_KEY, make_settings

    kit = faces_dir / "people" / "kit_harington"
    settings = make_settings(tmp_path, max_upload_bytes=120_000)
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        student = client.post("/api/v1/students", json={"external_id": "K", "name": "Kit"})
        photo_url = f"/api/v1/students/{student.json()['id']}/photo"
        enrolled = post_bytes(client, photo_url, "k.jpg", _jpeg(kit / "kit1.jpg"))
        assert enrolled.status_code == 200, enrolled.text
        frames = [_jpeg(kit / name) for name in ("kit1.jpg", "kit2.jpg", "kit1.jpg")]
        assert all(len(f) <= 120_000 for f in frames) and sum(map(len, frames)) > 2 * 120_000
        burst = client.post("/api/v1/checkins", files=[("file", ("f.jpg", f)) for f in frames])
        assert burst.status_code == 200, burst.text
        assert burst.json()["faces"][0]["decision"] == "present"
        # One frame over the limit is still refused, in a burst or not.
        big = _jpeg(faces_dir / "people" / "barack_obama" / "obama2.jpg")
        over = client.post(
            "/api/v1/checkins", files=[("file", ("a.jpg", frames[0])), ("file", ("b.jpg", big))]
        )
        assert over.status_code == 413 and over.json()["error"]["code"] == "upload_too_large"
        # A one-photo route's body is still bounded by one photo.
        two = [("file", ("a.jpg", frames[0])), ("file", ("b.jpg", frames[0]))]
        refused = client.post(photo_url, files=two)
        assert refused.status_code == 413
