"""The timetable on SQLite and PostgreSQL: a series makes its sessions at the wall-clock time
across a daylight-saving change; it changes from a date on, keeping the marked sessions; and
deleting it removes only the sessions to come that hold no marks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.support.helpers import post_file

SERIES = "/api/v1/timetable/series"


def _sessions_of(client: TestClient, series_id: int) -> list[dict]:
    page = client.get("/api/v1/sessions", params={"series_id": series_id, "limit": 500})
    assert page.status_code == 200, page.text
    return sorted(page.json()["items"], key=lambda s: s["starts_at"])


def _starts(sessions: list[dict]) -> list[str]:
    return [s["starts_at"] for s in sessions]


LONDON = {
    "name": "Maths 9A",
    "weekdays": ["fri", "mon"],
    "starts_time": "09:00",
    "ends_time": "09:50",
    "timezone": "Europe/London",
    "grace_minutes": 5,
    "room": "B12",
    "first_date": "2026-10-19",
    "last_date": "2026-11-02",
    "skip_dates": ["2026-10-30"],
}


def test_a_london_series_keeps_nine_oclock_across_the_end_of_summer_time(
    client: TestClient,
) -> None:
    course = client.post("/api/v1/courses", json={"code": "M9A", "name": "Maths"}).json()
    made = client.post(SERIES, json={**LONDON, "course_id": course["id"]})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["sessions_created"] == 4 and body["series"]["sessions"] == 4
    assert body["series"]["weekdays"] == ["mon", "fri"]  # Monday first
    series_id = body["series"]["id"]
    sessions = _sessions_of(client, series_id)
    # British Summer Time ends on Sunday 25 October 2026: 09:00 local is 08:00Z before it,
    # 09:00Z after. Friday 30 October is skipped (half term).
    assert _starts(sessions) == [
        "2026-10-19T08:00:00Z",
        "2026-10-23T08:00:00Z",
        "2026-10-26T09:00:00Z",
        "2026-11-02T09:00:00Z",
    ]
    assert [s["ends_at"][11:16] for s in sessions] == ["08:50", "08:50", "09:50", "09:50"]
    assert {(s["series_id"], s["course_id"], s["grace_minutes"]) for s in sessions} == {
        (series_id, course["id"], 5)
    }
    assert client.get(f"{SERIES}/{series_id}").json()["room"] == "B12"
    assert [s["id"] for s in client.get(SERIES).json()] == [series_id]

    # This one: a PATCH of one session changes it alone.
    first = sessions[0]
    moved = client.patch(f"/api/v1/sessions/{first['id']}", json={"name": "Maths 9A (hall)"})
    assert moved.status_code == 200 and moved.json()["series_id"] == series_id

    # This and the following: from 26 October, 09:30 on Mondays and Wednesdays.
    changed = client.patch(
        f"{SERIES}/{series_id}",
        params={"from_date": "2026-10-26"},
        json={"starts_time": "09:30", "ends_time": "10:20", "weekdays": ["mon", "wed"]},
    )
    assert changed.status_code == 200, changed.text
    change = changed.json()
    assert change["sessions_updated"] == 2  # Mondays 26 October and 2 November
    assert change["sessions_created"] == 1  # Wednesday 28 October
    assert change["sessions_deleted"] == 0 and change["series"]["starts_time"] == "09:30:00"
    after = _sessions_of(client, series_id)
    assert _starts(after) == [
        "2026-10-19T08:00:00Z",
        "2026-10-23T08:00:00Z",
        "2026-10-26T09:30:00Z",
        "2026-10-28T09:30:00Z",
        "2026-11-02T09:30:00Z",
    ]
    assert after[0]["name"] == "Maths 9A (hall)"  # before the date: untouched
    kept_ids = {s["id"] for s in sessions[2:]}
    assert kept_ids <= {s["id"] for s in after}  # the Mondays kept their ids

    # Skipping a day from a date on removes its session; an empty change is refused.
    holiday = client.patch(
        f"{SERIES}/{series_id}",
        params={"from_date": "2026-10-26"},
        json={"skip_dates": ["2026-10-30", "2026-11-02"]},
    ).json()
    assert holiday["sessions_deleted"] == 1 and holiday["sessions_updated"] == 2
    assert "2026-11-02T09:30:00Z" not in _starts(_sessions_of(client, series_id))


def test_series_input_is_checked(client: TestClient) -> None:
    def refused(**changes: object) -> dict:
        answer = client.post(SERIES, json={**LONDON, **changes})
        assert answer.status_code == 422, (changes, answer.text)
        return answer.json()["error"]

    refused(ends_time="08:00")
    refused(timezone="Mars/Olympus")
    refused(weekdays=["funday"])
    refused(weekdays=[])
    refused(first_date=0)
    refused(starts_time="09:00+01:00")
    refused(last_date="2026-10-01")
    refused(last_date="2030-10-01")
    missing = client.post(SERIES, json={**LONDON, "course_id": 999})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "course_not_found"
    assert client.get(SERIES).json() == []
    assert client.get("/api/v1/sessions").json()["total"] == 0
    assert client.patch(f"{SERIES}/999", json={"name": "x"}).status_code == 404
    assert client.delete(f"{SERIES}/999").status_code == 404

    made = client.post(SERIES, json=LONDON).json()["series"]
    assert made["timezone"] == "Europe/London"
    assert client.patch(f"{SERIES}/{made['id']}", json={"name": None}).status_code == 422
    late = client.patch(f"{SERIES}/{made['id']}", json={"starts_time": "11:00"})
    assert late.status_code == 422 and late.json()["error"]["code"] == "invalid_series"
    kiosk = client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()["key"]
    assert client.post(SERIES, json=LONDON, headers={"X-API-Key": kiosk}).status_code == 403


def _a_daytime_zone(now: dt.datetime) -> str:
    """A zone where it is now between 02:00 and 21:00, so that a session of now - 10 min to
    now + 50 min falls within one local day whenever the test runs."""
    for zone in ("UTC", "Etc/GMT-8", "Etc/GMT+8"):
        if 2 <= now.astimezone(ZoneInfo(zone)).hour < 21:
            return zone
    raise AssertionError("unreachable: the three zones are 8 hours apart")


def test_marked_sessions_outlive_changes_and_the_series(
    client: TestClient, faces_dir: Path
) -> None:
    student = client.post("/api/v1/students", json={"external_id": "jb", "name": "Joe"}).json()
    people = faces_dir / "people" / "joe_biden"
    enrolled = post_file(client, f"/api/v1/students/{student['id']}/photo", people / "biden.jpg")
    assert enrolled.status_code == 200, enrolled.text
    now = dt.datetime.now(dt.UTC)
    zone = _a_daytime_zone(now)
    local = now.astimezone(ZoneInfo(zone))
    today = local.date()
    made = client.post(
        SERIES,
        json={
            "name": "Daily",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "starts_time": (local - dt.timedelta(minutes=10)).strftime("%H:%M"),
            "ends_time": (local + dt.timedelta(minutes=50)).strftime("%H:%M"),
            "timezone": zone,
            "first_date": today.isoformat(),
            "last_date": (today + dt.timedelta(days=6)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    series_id = made.json()["series"]["id"]
    sessions = _sessions_of(client, series_id)
    assert len(sessions) == 7 and sessions[0]["state"] == "in_progress"
    checked = post_file(client, "/api/v1/checkins", people / "biden2.jpg")
    assert checked.json()["faces"][0]["session_id"] == sessions[0]["id"], checked.text

    # From today on, only tomorrow's weekday: today's marked session stays as it was.
    tomorrow = today + dt.timedelta(days=1)
    weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][tomorrow.weekday()]
    change = client.patch(
        f"{SERIES}/{series_id}",
        params={"from_date": today.isoformat()},
        json={"weekdays": [weekday]},
    ).json()
    assert change["sessions_kept"] == 1 and change["sessions_deleted"] == 5
    assert change["sessions_updated"] == 1
    left = _sessions_of(client, series_id)
    assert [s["id"] for s in left] == [sessions[0]["id"], sessions[1]["id"]]

    # Deleting the series: tomorrow's session goes; today's (begun and marked) stays alone.
    deleted = client.delete(f"{SERIES}/{series_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["sessions_deleted"] == 1 and deleted.json()["sessions_kept"] == 1
    assert client.get(f"{SERIES}/{series_id}").status_code == 404
    stays = client.get(f"/api/v1/sessions/{sessions[0]['id']}").json()
    assert stays["series_id"] is None
    assert client.get(f"/api/v1/sessions/{sessions[1]['id']}").status_code == 404
    rows = client.get("/api/v1/attendance", params={"session_id": sessions[0]["id"]}).json()
    assert [r["student"]["id"] for r in rows] == [student["id"]]
