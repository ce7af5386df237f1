"""`rollcall keys rotate`: a new key printed once, like the old one, and the old one refused at
once or after its grace period, as the running service answers it; the bootstrap key too.
On SQLite and PostgreSQL: the CLI and the app share the database."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.cli import CliResult, RunCli
from tests.support.settings import ADMIN_KEY


def _keys(rollcall: RunCli, database_url: str, cwd: Path, *args: str, **env: str) -> CliResult:
    return rollcall("keys", *args, cwd=cwd, env={"ROLLCALL_DATABASE_URL": database_url, **env})


def _role(client: TestClient, key: str) -> str | int:
    """The role the service gives `key`, or the status it refuses it with."""
    answer = client.get("/api/v1/me", headers={"X-API-Key": key})
    return answer.json()["role"] if answer.status_code == 200 else answer.status_code


def _new_key(done: CliResult) -> str:
    assert done.returncode == 0, done.stderr
    key = done.stdout.splitlines()[-1]
    assert key.startswith("rc_")
    return key


def test_rotate_by_name_refuses_the_old_key_at_once_and_keeps_a_teachers_courses(
    client: TestClient, rollcall: RunCli, database_url: str, tmp_path: Path
) -> None:
    course = client.post("/api/v1/courses", json={"code": "ART", "name": "Art"}).json()
    old = _new_key(
        _keys(
            rollcall,
            database_url,
            tmp_path,
            "create",
            "--role",
            "teacher",
            "--name",
            "Ms Smith",
            "--course",
            "ART",
        )
    )
    assert _role(client, old) == "teacher"

    done = _keys(rollcall, database_url, tmp_path, "rotate", "Ms Smith")
    new = _new_key(done)
    assert "key #1 (Ms Smith) is refused now" in done.stdout
    assert "new teacher key #2 (Ms Smith)" in done.stdout
    assert _role(client, old) == 401 and _role(client, new) == "teacher"
    listed = {row["id"]: row for row in client.get("/api/v1/keys").json()}
    assert listed[2]["course_ids"] == [course["id"]] and listed[2]["revoked_at"] is None
    assert listed[1]["revoked_at"] is not None

    again = _keys(rollcall, database_url, tmp_path, "rotate", "1")
    assert again.returncode == 1 and "Key #1 (Ms Smith) is revoked" in again.stderr
    # The name now names the one live key: the new one.
    assert _new_key(_keys(rollcall, database_url, tmp_path, "rotate", "Ms Smith")) != new
    assert _role(client, new) == 401


def test_a_grace_period_keeps_the_old_key_until_it_ends_or_is_revoked(
    client: TestClient, rollcall: RunCli, database_url: str, tmp_path: Path
) -> None:
    old = _new_key(
        _keys(rollcall, database_url, tmp_path, "create", "--role", "kiosk", "--name", "door")
    )
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as db:  # the kiosk's staff PIN, as pairing sets it
        db.execute(text("UPDATE api_keys SET pin_hash = 'scrypt$00$11' WHERE id = 1"))
    done = _keys(rollcall, database_url, tmp_path, "rotate", "door", "--grace", "60")
    new = _new_key(done)
    with engine.begin() as db:
        pins = db.execute(text("SELECT id, pin_hash FROM api_keys ORDER BY id")).all()
    assert [tuple(row) for row in pins] == [(1, "scrypt$00$11"), (2, "scrypt$00$11")]
    assert "key #1 (door) is refused in 60 minutes" in done.stdout
    assert _role(client, old) == "kiosk" and _role(client, new) == "kiosk"
    listing = _keys(rollcall, database_url, tmp_path, "list").stdout.splitlines()
    assert " from " in listing[1] and listing[2].split()[5] == "-", listing

    twice = _keys(rollcall, database_url, tmp_path, "rotate", "1")
    assert twice.returncode == 1 and "was rotated already and ends at" in twice.stderr
    # Both keys are live and named "door": a name that means two keys is refused.
    both = _keys(rollcall, database_url, tmp_path, "rotate", "door")
    assert both.returncode == 1 and "2 keys are named 'door' (#1, #2): give its id" in both.stderr

    # Time passing: the grace period's end is in the past.
    with engine.begin() as db:
        db.execute(
            text("UPDATE api_keys SET revoked_at = revoked_at - INTERVAL '2 hours' WHERE id = 1")
            if database_url.startswith("postgresql")
            else text("UPDATE api_keys SET revoked_at = '2000-01-01 00:00:00.000000' WHERE id = 1")
        )
    engine.dispose()
    assert _role(client, old) == 401 and _role(client, new) == "kiosk"


def test_revoke_ends_a_grace_period_now(
    client: TestClient, rollcall: RunCli, database_url: str, tmp_path: Path
) -> None:
    old = _new_key(
        _keys(rollcall, database_url, tmp_path, "create", "--role", "viewer", "--name", "board")
    )
    _new_key(_keys(rollcall, database_url, tmp_path, "rotate", "1", "--grace", "30"))
    assert _role(client, old) == "viewer"
    revoked = _keys(rollcall, database_url, tmp_path, "revoke", "1")
    assert revoked.returncode == 0 and "revoked key #1 (board)" in revoked.stdout
    assert _role(client, old) == 401


def test_rotate_the_bootstrap_key(
    client: TestClient, rollcall: RunCli, database_url: str, tmp_path: Path
) -> None:
    unset = _keys(rollcall, database_url, tmp_path, "rotate", "--bootstrap")
    assert unset.returncode == 1 and "ROLLCALL_ADMIN_KEY is not set here" in unset.stderr
    assert _role(client, ADMIN_KEY) == "admin"

    done = _keys(
        rollcall, database_url, tmp_path, "rotate", "--bootstrap", ROLLCALL_ADMIN_KEY=ADMIN_KEY
    )
    new = _new_key(done)
    assert "(bootstrap (ROLLCALL_ADMIN_KEY)) is refused now" in done.stdout
    assert "remove ROLLCALL_ADMIN_KEY from .env" in done.stdout
    # The app still has ROLLCALL_ADMIN_KEY in its settings, and refuses it.
    assert _role(client, ADMIN_KEY) == 401 and _role(client, new) == "admin"
    listed = client.get("/api/v1/keys", headers={"X-API-Key": new}).json()
    assert [(row["role"], row["prefix"]) for row in listed] == [
        ("admin", "bootstrap"),
        ("admin", new[:10]),
    ]  # the bootstrap key's own characters are not stored

    again = _keys(
        rollcall, database_url, tmp_path, "rotate", "--bootstrap", ROLLCALL_ADMIN_KEY=ADMIN_KEY
    )
    assert again.returncode == 1 and "is revoked: there is nothing to rotate" in again.stderr


def test_rotate_refusals_say_what_to_do(
    client: TestClient, rollcall: RunCli, database_url: str, tmp_path: Path
) -> None:
    unknown = _keys(rollcall, database_url, tmp_path, "rotate", "99")
    assert unknown.returncode == 1 and "No API key with id 99" in unknown.stderr
    nameless = _keys(rollcall, database_url, tmp_path, "rotate", "nobody")
    assert nameless.returncode == 1 and "`rollcall keys list` lists them" in nameless.stderr
    negative = _keys(rollcall, database_url, tmp_path, "rotate", "1", "--grace", "-5")
    assert negative.returncode == 2 and "not a number of minutes" in negative.stderr
    neither = _keys(rollcall, database_url, tmp_path, "rotate")
    assert neither.returncode == 2 and "KEY" in neither.stderr
    assert client.get("/api/v1/keys").json() == []  # nothing was written
