"""The operator's commands: roster import (folder and zip), export, keys, db upgrade."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.helpers import rollcall
from tests.support.settings import ADMIN_KEY, make_settings

# Whole classes enrolled with the model.
pytestmark = [pytest.mark.slow]


def make_roster(faces_dir: Path, folder: Path) -> tuple[Path, Path]:
    """A class of the 10 identities in people/, plus three bad rows."""
    photos = folder / "photos"
    photos.mkdir(parents=True)
    rows = [("external_id", "name", "photo")]
    for number, identity in enumerate(sorted(p.name for p in (faces_dir / "people").iterdir())):
        first = sorted((faces_dir / "people" / identity).iterdir())[0]
        (photos / f"{identity}{first.suffix}").symlink_to(first)
        rows.append(
            (f"S{number:03}", identity.replace("_", " ").title(), f"{identity}{first.suffix}")
        )
    Image.new("RGB", (400, 300), (90, 120, 160)).save(photos / "empty_room.jpg")
    rows += [
        ("S100", "Missing Photo", "nobody.jpg"),
        ("S101", "No Face", "empty_room.jpg"),
        ("S000", "Duplicate Id", "paul_rudd.jpg"),
    ]
    roster = folder / "roster.csv"
    with roster.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return roster, photos


def student_count(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database) as connection:
        students = connection.execute("SELECT COUNT(*) FROM students").fetchone()[0]
        templates = connection.execute("SELECT COUNT(*) FROM face_templates").fetchone()[0]
    assert students == templates  # never a student without their face
    return students


def test_import_roster_folder_then_again_then_zip(
    faces_dir: Path, tmp_path: Path, embedder: FaceEmbedder
) -> None:
    roster, photos = make_roster(faces_dir, tmp_path)
    database = tmp_path / "class.db"
    settings = make_settings(tmp_path, database_url=f"sqlite:///{database}")
    running = TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY})
    running.__enter__()  # a service already running on the database while the import runs

    first = rollcall(database, "import", str(roster), str(photos))
    assert first.returncode == 1, first.stderr  # some rows failed
    assert "enrolled 10, skipped 0, failed 3 (of 13 rows)" in first.stdout
    assert "line 12 S100: photo 'nobody.jpg' not found" in first.stdout
    assert "line 13 S101: no_face" in first.stdout
    assert "line 14 S000: duplicate external id (line 2)" in first.stdout
    assert "enrolling" in first.stderr  # the progress bar
    assert student_count(database) == 10
    # The running service sees the imported students at once (its gallery follows the database).
    with (faces_dir / "people" / "rose_leslie" / "rose2.jpg").open("rb") as photo:
        [face] = running.post("/api/v1/checkins", files={"file": photo}).json()["faces"]
    running.__exit__(None, None, None)
    assert face["decision"] == "present" and face["student"]["name"] == "Rose Leslie"

    again = rollcall(database, "import", str(roster), str(photos))
    assert "enrolled 0, skipped 10, failed 3" in again.stdout
    assert student_count(database) == 10

    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for photo in photos.iterdir():
            bundle.write(photo.resolve(), arcname=f"class/{photo.name}")
    fresh = tmp_path / "from_zip.db"
    refused = rollcall(fresh, "import", str(roster), str(archive))
    assert refused.returncode == 2 and f"no database at {fresh}" in refused.stderr
    assert rollcall(fresh, "db", "upgrade").returncode == 0  # only it (or serve) makes one
    zipped = rollcall(fresh, "import", str(roster), str(archive))
    assert f"database: sqlite:///{fresh}" in zipped.stderr
    assert "enrolled 10, skipped 0, failed 3" in zipped.stdout
    assert student_count(fresh) == 10


def test_import_refuses_a_roster_without_the_columns(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,full_name\n1,Ann\n")
    result = rollcall(tmp_path / "x.db", "import", str(roster), str(tmp_path))
    assert result.returncode == 2
    assert "lacks the column(s) external_id, name, photo" in result.stderr
    assert "separated by" not in result.stderr


def test_import_says_how_to_fix_a_semicolon_separated_roster(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("external_id;name;photo\nS001;Ann;ann.jpg\n")  # a spreadsheet's "CSV"
    result = rollcall(tmp_path / "x.db", "import", str(roster), str(tmp_path))
    assert result.returncode == 2
    assert "separated by semicolons: save it as CSV UTF-8, comma-separated" in result.stderr


def test_keys_and_export(faces_dir: Path, tmp_path: Path, embedder: FaceEmbedder) -> None:
    database = tmp_path / "ops.db"
    assert rollcall(database, "db", "upgrade").returncode == 0
    created = rollcall(database, "keys", "create", "--role", "kiosk", "--name", "front desk")
    assert created.returncode == 0, created.stderr
    kiosk_key = created.stdout.strip().splitlines()[-1]
    assert kiosk_key.startswith("rc_")
    listing = rollcall(database, "keys", "list").stdout
    assert "front desk" in listing and kiosk_key[:10] in listing and kiosk_key not in listing

    admin = rollcall(database, "keys", "create", "--role", "admin", "--name", "ops")
    admin_key = admin.stdout.strip().splitlines()[-1]
    settings = make_settings(tmp_path, database_url=f"sqlite:///{database}", admin_key=None)
    with TestClient(create_app(settings, embedder)) as client:
        student = client.post(
            "/api/v1/students",
            json={"external_id": "R1", "name": "Rose"},
            headers={"X-API-Key": admin_key},
        ).json()
        with (faces_dir / "people" / "rose_leslie" / "rose1.jpg").open("rb") as photo:
            client.post(
                f"/api/v1/students/{student['id']}/photo",
                files={"file": photo},
                headers={"X-API-Key": admin_key},
            )
        with (faces_dir / "people" / "rose_leslie" / "rose2.jpg").open("rb") as photo:
            checkin = client.post(
                "/api/v1/checkins", files={"file": photo}, headers={"X-API-Key": kiosk_key}
            )
        assert checkin.json()["faces"][0]["decision"] == "present"

        exported = rollcall(database, "export")
        assert exported.returncode == 0, exported.stderr
        [row] = list(csv.DictReader(io.StringIO(exported.stdout)))
        assert row["external_id"] == "R1" and float(row["similarity"]) > 0.5
        out = tmp_path / "attendance.csv"
        rollcall(database, "export", "--day", row["day"], "-o", str(out))
        assert out.read_text() == exported.stdout
        assert rollcall(database, "export", "--day", "2001-01-01").stdout.count("\n") == 1

        for wrong in (("--session", "999"), ("--from", "2026-11-02", "--to", "2026-11-01")):
            refused = rollcall(database, "export", *wrong)
            assert refused.returncode == 2 and refused.stdout == ""
        assert (
            "No class session with id 999"
            in rollcall(database, "export", "--session", "999").stderr
        )
        assert "starts (2026-11-02) after it ends (2026-11-01)" in refused.stderr

        key_id = listing.splitlines()[1].split()[0]
        revoked = rollcall(database, "keys", "revoke", key_id)
        assert revoked.returncode == 0 and "revoked key" in revoked.stdout
        again = rollcall(database, "keys", "revoke", key_id)
        assert again.returncode == 0 and "was already revoked at" in again.stdout
        with (faces_dir / "people" / "rose_leslie" / "rose2.jpg").open("rb") as photo:
            refused = client.post(
                "/api/v1/checkins", files={"file": photo}, headers={"X-API-Key": kiosk_key}
            )
        assert refused.status_code == 401


def test_export_absent_needs_a_session_alone(tmp_path: Path) -> None:
    for wrong in (["--absent"], ["--absent", "--session", "1", "--day", "2026-12-01"]):
        refused = rollcall(tmp_path / "x.db", "export", *wrong)
        assert refused.returncode == 2
        assert "--absent goes with --session alone" in refused.stderr
