"""GET /sessions/today, the office's Today in one answer: the school's day's sessions, running
first, then to come, then ended, each with the board its own report gives; a teacher key sees
its courses' only; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.support.helpers import create_session
from tests.support.settings import make_settings

SESSIONS = "/api/v1/sessions"
BOARD = ("session", "course", "present", "late", "excused", "absent", "not_on_roster")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """A school whose clock reads about noon now: its day has hours on either side of now."""
    offset = 12 - dt.datetime.now(dt.UTC).hour  # -11 to +12; Etc/GMT's sign is reversed
    return make_settings(tmp_path, database_url=database_url, timezone=f"Etc/GMT{-offset:+d}")


def _mark(client: TestClient, session: dict, student: dict, status: str, reason: str = "") -> None:
    body = {"status": status, **({"reason": reason} if reason else {})}
    marked = client.put(f"{SESSIONS}/{session['id']}/attendance/{student['id']}", json=body)
    assert marked.status_code == 200, marked.text


def test_today_is_every_board_of_the_day_running_first(
    client: TestClient, settings: Settings
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    students = [
        client.post("/api/v1/students", json={"external_id": f"T-{n}", "name": name}).json()
        for n, name in enumerate(["Ann", "Ben", "Cat", "Dan"])
    ]
    maths = client.post("/api/v1/courses", json={"code": "M1", "name": "Maths"}).json()
    art = client.post("/api/v1/courses", json={"code": "A1", "name": "Art"}).json()
    roster = {"student_ids": [s["id"] for s in students[:3]]}
    assert client.put(f"/api/v1/courses/{maths['id']}/students", json=roster).status_code == 200
    roster = {"student_ids": [students[3]["id"]]}
    assert client.put(f"/api/v1/courses/{art['id']}/students", json=roster).status_code == 200
    later = create_session(client, "Later", now + dt.timedelta(hours=3), course_id=art["id"])
    ended = create_session(client, "Ended", now - dt.timedelta(hours=3), course_id=maths["id"])
    soon = create_session(client, "Soon", now + dt.timedelta(hours=1))  # no course: everyone
    running = create_session(
        client, "Running", now - dt.timedelta(minutes=20), course_id=maths["id"]
    )
    create_session(client, "Tomorrow", now + dt.timedelta(days=1), course_id=maths["id"])
    create_session(client, "Yesterday", now - dt.timedelta(days=1), course_id=maths["id"])
    _mark(client, running, students[0], "present")
    _mark(client, running, students[1], "excused", "ill")
    _mark(client, ended, students[0], "late")
    _mark(client, ended, students[2], "absent", "no note")

    answer = client.get(f"{SESSIONS}/today")
    assert answer.status_code == 200, answer.text
    today = answer.json()
    assert today["day"] == now.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    boards = today["sessions"]
    expected = [running["id"], soon["id"], later["id"], ended["id"]]
    assert [b["session"]["id"] for b in boards] == expected
    assert [b["session"]["state"] for b in boards] == [
        "in_progress",
        "upcoming",
        "upcoming",
        "ended",
    ]
    for board in boards:  # what the session's own report says, but its audit trail
        report = client.get(f"{SESSIONS}/{board['session']['id']}/report").json()
        assert set(board) == set(BOARD)
        assert {k: board[k] for k in BOARD} == {k: report[k] for k in BOARD}
    by_id = {b["session"]["id"]: b for b in boards}
    assert [s["name"] for s in by_id[running["id"]]["absent"]] == ["Cat"]
    assert [row["student"]["name"] for row in by_id[running["id"]]["excused"]] == ["Ben"]
    assert [s["name"] for s in by_id[soon["id"]]["absent"]] == ["Ann", "Ben", "Cat", "Dan"]
    assert [s["name"] for s in by_id[ended["id"]]["absent"]] == ["Cat", "Ben"]  # marked first
    assert [row["student"]["name"] for row in by_id[ended["id"]]["late"]] == ["Ann"]

    yesterday = (now - dt.timedelta(days=1)).astimezone(ZoneInfo(settings.timezone)).date()
    other_day = client.get(f"{SESSIONS}/today", params={"day": yesterday.isoformat()}).json()
    assert [b["session"]["name"] for b in other_day["sessions"]] == ["Yesterday"]
    assert client.get(f"{SESSIONS}/today", params={"day": "2026-02-30"}).status_code == 422

    key = client.post(
        "/api/v1/keys", json={"name": "Ms Art", "role": "teacher", "course_ids": [art["id"]]}
    ).json()["key"]
    theirs = client.get(f"{SESSIONS}/today", headers={"X-API-Key": key}).json()
    assert [b["session"]["id"] for b in theirs["sessions"]] == [later["id"]]
    kiosk = client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()["key"]
    assert client.get(f"{SESSIONS}/today", headers={"X-API-Key": kiosk}).status_code == 403
