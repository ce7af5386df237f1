"""The student page's API: one photo swapped for another, a kept photo's image, and the
student's record (courses, sessions held with how each went, a rate per course, last seen)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image, ImageFilter

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.helpers import post_file
from tests.support.settings import ADMIN_KEY, make_settings

STUDENTS = "/api/v1/students"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_photo_is_swapped_at_the_limit_and_a_refused_one_keeps_the_old(
    tmp_path: Path, database_url: str, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    kit = faces_dir / "people" / "kit_harington"
    settings = make_settings(
        tmp_path, database_url=database_url, max_photos_per_student=1, keep_photos=True
    )
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        student = client.post(STUDENTS, json={"external_id": "K1", "name": "Kit"}).json()
        url = f"{STUDENTS}/{student['id']}/photos"
        first = post_file(client, f"{STUDENTS}/{student['id']}/photo", kit / "kit1.jpg").json()
        old = first["template_id"]
        image = client.get(f"{url}/{old}/image")
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content == (kit / "kit1.jpg").read_bytes()

        # Refused (too blurred): the old photo stays.
        blurred = io.BytesIO()
        Image.open(kit / "kit3.jpg").convert("RGB").filter(ImageFilter.GaussianBlur(14)).save(
            blurred, "JPEG"
        )
        refused = client.put(f"{url}/{old}", files={"file": ("x.jpg", blurred.getvalue())})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "face_blurred"
        assert [p["id"] for p in client.get(url).json()] == [old]

        # At the limit of one, a swap still goes through, one for one.
        with (kit / "kit2.jpg").open("rb") as photo:
            swapped = client.put(f"{url}/{old}", files={"file": ("kit2.jpg", photo)})
        assert swapped.status_code == 200, swapped.text
        new = swapped.json()["template_id"]
        assert [p["id"] for p in client.get(url).json()] == [new]  # SQLite may reuse the id
        assert client.get(f"{url}/{new}/image").content == (kit / "kit2.jpg").read_bytes()
        assert client.get("/health").json()["gallery_templates"] == 1


def test_a_photo_not_kept_has_no_image(client: TestClient, faces_dir: Path) -> None:
    student = client.post(STUDENTS, json={"external_id": "K1", "name": "Kit"}).json()
    kit = faces_dir / "people" / "kit_harington" / "kit1.jpg"
    template = post_file(client, f"{STUDENTS}/{student['id']}/photo", kit).json()["template_id"]
    answer = client.get(f"{STUDENTS}/{student['id']}/photos/{template}/image")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "photo_not_kept"


def test_the_record_counts_held_sessions_per_course(client: TestClient, faces_dir: Path) -> None:
    kit = client.post(STUDENTS, json={"external_id": "K1", "name": "Kit"}).json()
    other = client.post(STUDENTS, json={"external_id": "O1", "name": "Other"}).json()
    post_file(client, f"{STUDENTS}/{kit['id']}/photo", faces_dir / "people/kit_harington/kit1.jpg")
    art = client.post("/api/v1/courses", json={"code": "ART", "name": "Art"}).json()
    maths = client.post("/api/v1/courses", json={"code": "MATHS", "name": "Maths"}).json()
    client.put(f"/api/v1/courses/{art['id']}/students", json={"student_ids": [kit["id"]]})
    client.put(f"/api/v1/courses/{maths['id']}/students", json={"student_ids": [other["id"]]})
    now = dt.datetime.now(dt.UTC)

    def session(name: str, hours_ago: float, course: dict | None) -> int:
        start = now - dt.timedelta(hours=hours_ago)
        body = {
            "name": name,
            "starts_at": _iso(start),
            "ends_at": _iso(start + dt.timedelta(hours=1)),
            "course_id": course["id"] if course else None,
        }
        return client.post("/api/v1/sessions", json=body).json()["id"]

    art_old, art_now = session("Art 1", 26, art), session("Art 2", 0.2, art)
    session("Art later", -5, art)  # not held yet: not counted
    session("Maths", 3, maths)  # not Kit's course, not marked: not counted
    session("Assembly", 30, None)  # no course: everyone active
    mark = {"status": "excused", "reason": "dentist"}
    assert client.put(f"/api/v1/sessions/{art_old}/attendance/{kit['id']}", json=mark).is_success
    checked = post_file(
        client,
        "/api/v1/checkins",
        faces_dir / "people/kit_harington/kit2.jpg",
        session_id=art_now,
    )
    assert checked.json()["faces"][0]["decision"] == "present", checked.text

    record = client.get(f"{STUDENTS}/{kit['id']}/record")
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["student"]["external_id"] == "K1" and body["student"]["enrolled"] is True
    assert [c["code"] for c in body["courses"]] == ["ART"]
    assert body["held"] == 3
    history = [(h["session"]["name"], h["status"], h["source"]) for h in body["history"]]
    assert history == [
        ("Art 2", "present", "face"),
        ("Art 1", "excused", "manual"),
        ("Assembly", "absent", None),
    ]
    assert body["history"][1]["reason"] == "dentist"
    assert body["history"][2]["attendance_id"] is None
    rates = {(r["course"] or {}).get("code"): r for r in body["rates"]}
    assert rates["ART"]["sessions"] == 2 and rates["ART"]["excused"] == 1
    assert rates["ART"]["rate"] == 1.0
    assert rates[None]["absent"] == 1 and rates[None]["rate"] == 0.0
    assert [r["course"] and r["course"]["code"] for r in body["rates"]] == ["ART", None]
    seen = dt.datetime.fromisoformat(body["last_seen_at"].replace("Z", "+00:00"))
    assert abs((seen - dt.datetime.now(dt.UTC)).total_seconds()) < 600

    limited = client.get(f"{STUDENTS}/{kit['id']}/record", params={"limit": 1}).json()
    assert len(limited["history"]) == 1 and limited["held"] == 3
    assert client.get(f"{STUDENTS}/99999/record").status_code == 404
