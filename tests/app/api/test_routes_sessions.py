"""Sessions that can change: PATCH, DELETE (refused while it holds marks, unless forced) and a
paged, filtered list, in progress first then newest first (or in time order); on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from tests.support.helpers import create_session, post_file

SESSIONS = "/api/v1/sessions"


def test_the_list_is_paged_filtered_and_puts_the_running_session_first(
    client: TestClient,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    course = client.post("/api/v1/courses", json={"code": "M1", "name": "Maths"}).json()
    old = create_session(client, "Old", now - dt.timedelta(days=3))
    ended = create_session(client, "Ended", now - dt.timedelta(hours=2), course_id=course["id"])
    running = create_session(client, "Running", now - dt.timedelta(minutes=20))
    soon = create_session(client, "Soon", now + dt.timedelta(hours=1), course_id=course["id"])
    later = create_session(client, "Later", now + dt.timedelta(days=2))

    page = client.get(SESSIONS).json()
    assert page["total"] == 5 and page["limit"] == 50 and page["offset"] == 0
    order = [s["id"] for s in page["items"]]
    assert order == [running["id"], later["id"], soon["id"], ended["id"], old["id"]]
    assert [s["state"] for s in page["items"]] == [
        "in_progress",
        "upcoming",
        "upcoming",
        "ended",
        "ended",
    ]

    in_time = client.get(SESSIONS, params={"order": "time"}).json()["items"]  # as a week reads
    assert [s["id"] for s in in_time] == [
        running["id"],
        old["id"],
        ended["id"],
        soon["id"],
        later["id"],
    ]
    assert client.get(SESSIONS, params={"order": "someday"}).status_code == 422

    second = client.get(SESSIONS, params={"limit": 2, "offset": 2}).json()
    assert [s["id"] for s in second["items"]] == order[2:4] and second["total"] == 5

    def ids(**params: object) -> list[int]:
        answer = client.get(SESSIONS, params=params)
        assert answer.status_code == 200, answer.text
        return [s["id"] for s in answer.json()["items"]]

    assert ids(state="upcoming") == [later["id"], soon["id"]]
    assert ids(state="in_progress") == [running["id"]]
    assert ids(state="ended") == [ended["id"], old["id"]]
    assert ids(course_id=course["id"]) == [soon["id"], ended["id"]]
    assert ids(course_id=course["id"], state="ended") == [ended["id"]]
    three_days_ago = (now - dt.timedelta(days=3)).date()
    assert ids(date_from=three_days_ago, date_to=three_days_ago) == [old["id"]]
    in_two_days = (now + dt.timedelta(days=2)).date()
    assert ids(date_from=in_two_days) == [later["id"]]

    unknown = client.get(SESSIONS, params={"course_id": 999})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "course_not_found"
    backwards = client.get(SESSIONS, params={"date_from": "2026-02-02", "date_to": "2026-02-01"})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "empty_date_range"
    assert client.get(SESSIONS, params={"state": "someday"}).status_code == 422
    assert client.get(SESSIONS, params={"limit": 0}).status_code == 422


def test_a_session_is_changed_field_by_field_and_checked_with_its_stored_times(
    client: TestClient,
) -> None:
    start = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
    course = client.post("/api/v1/courses", json={"code": "F1", "name": "French"}).json()
    made = create_session(client, "Frnech", start, course_id=course["id"], grace_minutes=5)
    url = f"{SESSIONS}/{made['id']}"

    renamed = client.patch(url, json={"name": "French", "ends_at": "2026-11-24T10:30:00+01:00"})
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert body["name"] == "French" and body["ends_at"] == "2026-11-24T09:30:00Z"
    assert body["course_id"] == course["id"] and body["grace_minutes"] == 5

    # Ending before the stored start is refused, and nothing changes.
    early = client.patch(url, json={"name": "X", "ends_at": "2026-11-24T07:00:00Z"})
    assert early.status_code == 422 and early.json()["error"]["code"] == "invalid_session_times"
    assert client.get(url).json()["name"] == "French"
    both = client.patch(
        url, json={"starts_at": "2026-11-24T10:00:00Z", "ends_at": "2026-11-24T09:00:00Z"}
    )
    assert both.status_code == 422
    assert client.patch(url, json={"name": None}).status_code == 422
    assert client.patch(url, json={"starts_at": "2026-11-24T09:00:00"}).status_code == 422
    missing = client.patch(url, json={"course_id": 999})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "course_not_found"
    assert client.patch(f"{SESSIONS}/999", json={"name": "x"}).status_code == 404

    # A course and a grace may be taken away: null.
    cleared = client.patch(url, json={"course_id": None, "grace_minutes": None}).json()
    assert cleared["course_id"] is None and cleared["grace_minutes"] is None
    assert client.get(url).json() == {**cleared, "state": client.get(url).json()["state"]}


def test_a_session_with_marks_is_deleted_only_when_forced(
    client: TestClient, faces_dir: Path
) -> None:
    student = client.post("/api/v1/students", json={"external_id": "jb", "name": "Joe"}).json()
    people = faces_dir / "people" / "joe_biden"
    enrolled = post_file(client, f"/api/v1/students/{student['id']}/photo", people / "biden.jpg")
    assert enrolled.status_code == 200, enrolled.text
    now = dt.datetime.now(dt.UTC)
    marked = create_session(client, "Marked", now - dt.timedelta(minutes=5))
    empty = create_session(client, "Empty", now + dt.timedelta(days=1))
    checked = post_file(client, "/api/v1/checkins", people / "biden2.jpg", session_id=marked["id"])
    assert checked.json()["faces"][0]["decision"] == "present", checked.text

    refused = client.delete(f"{SESSIONS}/{marked['id']}")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "session_has_attendance"
    assert refused.json()["error"]["details"]["marks"] == 1
    assert len(client.get("/api/v1/attendance", params={"session_id": marked["id"]}).json()) == 1

    forced = client.delete(f"{SESSIONS}/{marked['id']}", params={"force": "true"})
    assert forced.status_code == 200, forced.text
    assert forced.json() == {"id": marked["id"], "marks_deleted": 1}
    assert client.get(f"{SESSIONS}/{marked['id']}").status_code == 404
    assert client.get("/api/v1/attendance", params={"student_id": student["id"]}).json() == []

    assert client.delete(f"{SESSIONS}/{empty['id']}").json()["marks_deleted"] == 0
    assert client.get(SESSIONS).json()["total"] == 0
    assert client.delete(f"{SESSIONS}/{empty['id']}").status_code == 404
    kiosk = client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()["key"]
    other = create_session(client, "Other", now + dt.timedelta(days=2))
    as_kiosk = client.delete(f"{SESSIONS}/{other['id']}", headers={"X-API-Key": kiosk})
    assert as_kiosk.status_code == 403
