"""The operations of docs/operations.md, run as an operator runs them beside a real server on
a real SQLite file: `rollcall db backup` while it serves, `db restore`, `purge`, `students
delete` (which the running service notices at once)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.cli import RunCli
from tests.support.helpers import post_file, run_rollcall
from tests.support.server import serving
from tests.support.settings import ADMIN_KEY, count_rows

STUDENTS = "/api/v1/students"
CHECKIN = "/api/v1/checkins"


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "rollcall.db"


def _url(database: Path) -> str:
    return f"sqlite:///{database}"


def _rollcall(database: Path, *args: str) -> tuple[int, str, str]:
    done = run_rollcall(
        *args, cwd=database.parent.parent, env={"ROLLCALL_DATABASE_URL": _url(database)}
    )
    return done.returncode, done.stdout, done.stderr


@contextmanager
def _server(database: Path, log: Path) -> Iterator[httpx.Client]:
    with (
        serving(_url(database), log) as url,
        httpx.Client(base_url=url, timeout=120, headers={"X-API-Key": ADMIN_KEY}) as client,
    ):
        yield client


@pytest.fixture
def server(database_file: Path, tmp_path: Path) -> Iterator[httpx.Client]:
    """README's uvicorn command serving `database_file`, answered with the admin key."""
    with _server(database_file, tmp_path / "server.log") as client:
        yield client


def _external_ids(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT external_id FROM students ORDER BY 1")]


def _new_student(client: httpx.Client, external_id: str) -> int:
    created = client.post(STUDENTS, json={"external_id": external_id, "name": external_id})
    assert created.status_code == 201, created.text
    return created.json()["id"]


@pytest.mark.subprocess
@pytest.mark.slow
def test_backup_while_serving_then_restore_after_stopping(
    database_file: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backups" / "monday.db"
    with _server(database_file, tmp_path / "first.log") as client:
        _new_student(client, "B-1")
        status, out, err = _rollcall(database_file, "db", "backup", str(backup))
        assert status == 0, err
        assert f"backed up {database_file} to {backup}" in out
        _new_student(client, "B-2")  # after the backup: the restore must drop it
        # The service's latest commits may sit in the WAL; the backup has them all the same.
        assert _external_ids(backup) == ["B-1"]
        assert not backup.with_name("monday.db-wal").exists()  # one self-contained file
        again, _, err = _rollcall(database_file, "db", "backup", str(backup))
        assert again == 1 and "already exists (--force replaces it)" in err

    refused, _, err = _rollcall(database_file, "db", "restore", str(backup))
    assert refused == 1 and "stop the service first, then run again with --yes" in err
    assert _external_ids(database_file) == ["B-1", "B-2"]
    status, out, err = _rollcall(database_file, "db", "restore", str(backup), "--yes")
    assert status == 0, err
    [kept] = database_file.parent.glob("rollcall.db.before-restore-*")
    assert f"kept in {kept}" in out
    assert _external_ids(kept) == ["B-1", "B-2"]  # a wrong restore can be undone

    with _server(database_file, tmp_path / "second.log") as client:
        listed = client.get(STUDENTS).json()
        assert [row["external_id"] for row in listed["items"]] == ["B-1"]

    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a database")
    status, _, err = _rollcall(database_file, "db", "restore", str(not_a_backup), "--yes")
    assert status == 1 and "is not a Rollcall backup" in err
    assert _external_ids(database_file) == ["B-1"]


def test_backup_of_postgresql_names_pg_dump(rollcall: RunCli, tmp_path: Path) -> None:
    url = "postgresql+psycopg://rollcall:secret@db.school.lan:5432/rollcall"
    done = rollcall("db", "backup", "x.dump", cwd=tmp_path, env={"ROLLCALL_DATABASE_URL": url})
    assert done.returncode == 1
    line = "pg_dump --format=custom --file=x.dump postgresql://rollcall@db.school.lan:5432/rollcall"
    assert done.stdout.strip() == line
    assert "secret" not in done.stdout + done.stderr
    assert "nothing was written" in done.stderr


@pytest.mark.slow
def test_students_delete_removes_everything_and_the_service_forgets_them(
    server: httpx.Client, database_file: Path, faces_dir: Path
) -> None:
    obama = faces_dir / "people" / "barack_obama"
    student_id = _new_student(server, "S-OBAMA")
    enrolled = post_file(server, f"{STUDENTS}/{student_id}/photo", obama / "obama.jpg")
    assert enrolled.status_code == 200, enrolled.text
    [face] = post_file(server, CHECKIN, obama / "obama2.jpg").json()["faces"]
    assert face["decision"] == "present"

    status, out, _ = _rollcall(database_file, "students", "delete", "S-OBAMA")
    assert status == 1
    assert "1 photos/templates, 1 attendance rows, 1 check-in attempts" in out
    assert "run again with --yes" in out
    assert server.get(f"{STUDENTS}/{student_id}").status_code == 200

    status, out, err = _rollcall(database_file, "students", "delete", "S-OBAMA", "--yes")
    assert status == 0, err
    assert "deleted S-OBAMA" in out
    assert server.get(f"{STUDENTS}/{student_id}").status_code == 404
    for table in ("students", "face_templates", "attendance", "checkin_attempts"):
        assert count_rows(_url(database_file), table) == 0, table
    # The running service noticed: the same face is now nobody.
    [face] = post_file(server, CHECKIN, obama / "obama3.jpg").json()["faces"]
    assert face["decision"] == "unknown" and face["student"] is None

    status, _, err = _rollcall(database_file, "students", "delete", "S-OBAMA", "--yes")
    assert status == 1 and "no student with external id 'S-OBAMA'" in err


@pytest.mark.slow
def test_purge_deletes_only_attempts_older_than_the_retention(
    server: httpx.Client, database_file: Path, faces_dir: Path
) -> None:
    for photo in ("angelina_jolie/1.jpg", "paul_rudd/1.jpg"):
        answer = post_file(server, CHECKIN, faces_dir / "people" / photo)
        assert answer.status_code == 200, answer.text
    url = _url(database_file)
    assert count_rows(url, "checkin_attempts") == 2
    # Time passing: one of the two was seen 40 days ago.
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as db:
        first = db.execute(text("SELECT MIN(id) FROM checkin_attempts")).scalar_one()
        db.execute(
            text("UPDATE checkin_attempts SET created_at = :at WHERE id = :id"),
            {"at": "2000-01-01 00:00:00.000000", "id": first},
        )
    engine.dispose()

    status, _, err = _rollcall(database_file, "purge")
    assert status == 2 and "give --older-than DAYS, or set ROLLCALL_CHECKIN_RETENTION_DAYS" in err
    done = run_rollcall(
        "purge",
        cwd=database_file.parent.parent,
        env={"ROLLCALL_DATABASE_URL": url, "ROLLCALL_CHECKIN_RETENTION_DAYS": "30"},
    )
    assert done.returncode == 0, done.stderr
    assert "deleted 1 check-in attempts" in done.stdout and "(30 days)" in done.stdout
    assert count_rows(url, "checkin_attempts") == 1
    status, out, _ = _rollcall(database_file, "purge", "--older-than", "30")
    assert status == 0 and "deleted 0 check-in attempts" in out
