"""Several photos per student: added up to a limit, listed, deleted; the best one counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.helpers import enroll_five, post_file
from tests.support.settings import ADMIN_KEY, make_settings

STUDENTS = "/api/v1/students"


def test_photos_are_added_listed_limited_and_deleted(client: TestClient, faces_dir: Path) -> None:
    kit = faces_dir / "people" / "kit_harington"
    student = client.post(STUDENTS, json={"external_id": "K1", "name": "Kit"}).json()
    url = f"{STUDENTS}/{student['id']}"
    added = [
        post_file(client, f"{url}/photo", kit / name).json() for name in ("kit1.jpg", "kit2.jpg")
    ]
    photos = client.get(f"{url}/photos").json()
    assert [p["id"] for p in photos] == [a["template_id"] for a in added]
    assert all(p["student_id"] == student["id"] and not p["photo_kept"] for p in photos)
    one = client.get(f"{url}/photos/{photos[1]['id']}")
    assert one.status_code == 200 and one.json() == photos[1]
    assert client.get("/health").json()["gallery_templates"] == 2

    # Another student's photo id is not this student's.
    other = client.post(STUDENTS, json={"external_id": "O", "name": "Other"}).json()
    wrong = client.get(f"{STUDENTS}/{other['id']}/photos/{photos[0]['id']}")
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "photo_not_found"

    assert client.delete(f"{url}/photos/{photos[0]['id']}").status_code == 204
    assert [p["id"] for p in client.get(f"{url}/photos").json()] == [photos[1]["id"]]
    assert client.get("/health").json()["gallery_templates"] == 1
    assert client.delete(f"{url}/photos/{photos[0]['id']}").status_code == 404
    assert client.delete(f"{url}/photos/{photos[1]['id']}").status_code == 204
    assert client.get(url).json()["enrolled"] is False


def test_a_photo_beyond_the_limit_is_refused_and_replace_still_works(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    kit = faces_dir / "people" / "kit_harington"
    settings = make_settings(tmp_path, max_photos_per_student=2)
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        student = client.post(STUDENTS, json={"external_id": "K1", "name": "Kit"}).json()
        url = f"{STUDENTS}/{student['id']}/photo"
        for name in ("kit1.jpg", "kit2.jpg"):
            assert post_file(client, url, kit / name).status_code == 200
        third = post_file(client, url, kit / "kit3.jpg")
        assert third.status_code == 409, third.text
        error = third.json()["error"]
        assert error["code"] == "too_many_photos" and error["details"]["limit"] == 2
        assert len(client.get(f"{STUDENTS}/{student['id']}/photos").json()) == 2
        replaced = post_file(client, f"{url}?replace=true", kit / "kit3.jpg")
        assert replaced.status_code == 200
        assert len(client.get(f"{STUDENTS}/{student['id']}/photos").json()) == 1


@pytest.mark.slow
def test_a_second_photo_brings_a_hard_photo_closer(client: TestClient, faces_dir: Path) -> None:
    """alex3.jpg lies 0.53 from the enrolled alex1.png (another light, another angle) and 0.37
    from alex2.jpg: once alex2.jpg is enrolled too, the check-in scores by the closer one."""
    alex = faces_dir / "people" / "alex_lacamoire"
    ids = enroll_five(client, faces_dir)
    first = post_file(client, "/api/v1/checkins", alex / "alex3.jpg").json()["faces"][0]
    assert first["student"]["id"] == ids["alex_lacamoire"]
    added = post_file(client, f"{STUDENTS}/{ids['alex_lacamoire']}/photo", alex / "alex2.jpg")
    assert added.status_code == 200 and added.json()["warnings"] == []
    again = post_file(client, "/api/v1/checkins", alex / "alex3.jpg").json()["faces"][0]
    assert again["student"]["id"] == ids["alex_lacamoire"]
    assert again["distance"] < first["distance"] - 0.1
    assert again["similarity"] > first["similarity"]
    assert again["decision"] == "already_present"
