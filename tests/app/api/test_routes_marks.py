"""Corrections of a session's register on real photos, on SQLite and PostgreSQL: a check-in
writes a face mark, a correction makes it manual, an undo removes it, and each change is an
event naming its key; a check-in after a manual `excused` leaves it excused."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from fastapi.testclient import TestClient

from tests.support.helpers import enroll_five
from tests.support.settings import count_rows

CHECKIN = "/api/v1/checkins"


def _course_session(client: TestClient, members: list[int]) -> int:
    course = client.post("/api/v1/courses", json={"code": "HIST", "name": "History"}).json()
    roster = client.put(f"/api/v1/courses/{course['id']}/students", json={"student_ids": members})
    assert roster.status_code == 200, roster.text
    now = dt.datetime.now(dt.UTC)
    session = client.post(
        "/api/v1/sessions",
        json={
            "name": "History",
            "course_id": course["id"],
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(minutes=55)).isoformat(),
        },
    )
    assert session.status_code == 201, session.text
    return session.json()["id"]


def _kiosk(client: TestClient) -> dict[str, str]:
    created = client.post("/api/v1/keys", json={"name": "front kiosk", "role": "kiosk"})
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["key"], "id": str(created.json()["id"])}


def _check_in(client: TestClient, photo: Path, session_id: int, key: str) -> dict:
    with photo.open("rb") as handle:
        answer = client.post(
            CHECKIN,
            files={"file": (photo.name, handle)},
            data={"session_id": str(session_id)},
            headers={"X-API-Key": key},
        )
    assert answer.status_code == 200, answer.text
    [face] = answer.json()["faces"]
    return face


def _changes(events: list[dict]) -> list[tuple]:
    return [
        (e["action"], e["key_name"], e["before_status"], e["before_source"], e["after_status"])
        for e in events
    ]


def test_a_correction_and_its_undo_are_kept_as_events(
    client: TestClient, faces_dir: Path, database_url: str
) -> None:
    ids = enroll_five(client, faces_dir)
    obama = ids["barack_obama"]
    session_id = _course_session(client, [obama, ids["joe_biden"]])
    kiosk = _kiosk(client)
    people = faces_dir / "people"

    face = _check_in(client, people / "barack_obama" / "obama2.jpg", session_id, kiosk["X-API-Key"])
    assert face["decision"] == "present" and face["student"]["id"] == obama
    assert (face["status"], face["source"]) == ("present", "face")

    mark = f"/api/v1/sessions/{session_id}/attendance/{obama}"
    corrected = client.put(mark, json={"status": "late", "reason": "came at 9:20"})
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert (body["status"], body["source"], body["reason"], body["late"]) == (
        "late",
        "manual",
        "came at 9:20",
        True,
    )
    assert body["first_checkin_at"] is not None and body["similarity"] > 0.5  # the check-in's

    listed = client.get("/api/v1/attendance", params={"session_id": session_id}).json()
    assert [(r["status"], r["source"], r["reason"]) for r in listed] == [
        ("late", "manual", "came at 9:20")
    ]
    exported = client.get("/api/v1/attendance", params={"session_id": session_id, "format": "csv"})
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert (row["status"], row["source"], row["reason"], row["late"]) == (
        "late",
        "manual",
        "came at 9:20",
        "yes",
    )

    undone = client.delete(mark, params={"reason": "wrong person"})
    assert undone.status_code == 204
    assert client.delete(mark).json()["error"]["code"] == "mark_not_found"
    assert client.get("/api/v1/attendance", params={"session_id": session_id}).json() == []

    history = client.get(f"{mark}/history")
    assert history.status_code == 200, history.text
    events = history.json()
    assert _changes(events) == [
        ("checkin", "front kiosk", None, None, "present"),
        ("correction", "bootstrap admin key", "present", "face", "late"),
        ("undo", "bootstrap admin key", "late", "manual", None),
    ]
    assert events[0]["key_id"] == int(kiosk["id"]) and events[1]["key_id"] is None
    assert [e["reason"] for e in events] == [None, "came at 9:20", "wrong person"]

    report = client.get(f"/api/v1/sessions/{session_id}/report").json()
    assert _changes(report["events"]) == _changes(events)
    assert {s["id"] for s in report["absent"]} == {obama, ids["joe_biden"]}

    # Undone, the student may check in again.
    again = _check_in(
        client, people / "barack_obama" / "obama3.jpg", session_id, kiosk["X-API-Key"]
    )
    assert again["decision"] == "present"

    # Deleting the student deletes their events too.
    assert count_rows(database_url, "attendance_events") == 4
    assert client.delete(f"/api/v1/students/{obama}").status_code == 204
    assert count_rows(database_url, "attendance_events") == 0


def test_a_check_in_after_a_manual_excused_leaves_it_excused(
    client: TestClient, faces_dir: Path
) -> None:
    ids = enroll_five(client, faces_dir)
    biden, kit = ids["joe_biden"], ids["kit_harington"]
    session_id = _course_session(client, [biden, kit])
    kiosk = _kiosk(client)

    excused = client.put(
        f"/api/v1/sessions/{session_id}/attendance/{biden}",
        json={"status": "excused", "reason": "doctor's note"},
    )
    assert excused.status_code == 200, excused.text
    assert excused.json()["first_checkin_at"] is None and excused.json()["similarity"] is None

    photo = faces_dir / "people" / "joe_biden" / "biden2.jpg"
    face = _check_in(client, photo, session_id, kiosk["X-API-Key"])
    assert face["student"]["id"] == biden
    assert (face["decision"], face["status"], face["source"]) == (
        "already_present",
        "excused",
        "manual",
    )
    assert face["attendance_id"] == excused.json()["id"]

    report = client.get(f"/api/v1/sessions/{session_id}/report").json()
    assert [r["student"]["id"] for r in report["excused"]] == [biden]
    assert report["present"] == [] and [s["id"] for s in report["absent"]] == [kit]
    history = client.get(f"/api/v1/sessions/{session_id}/attendance/{biden}/history").json()
    assert _changes(history) == [("correction", "bootstrap admin key", None, None, "excused")]

    exported = client.get(f"/api/v1/sessions/{session_id}/report", params={"format": "csv"})
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert (rows[str(biden)]["status"], rows[str(biden)]["reason"]) == ("excused", "doctor's note")
    assert rows[str(kit)]["status"] == "absent" and rows[str(kit)]["source"] == ""


def test_a_mark_needs_a_roster_member(client: TestClient, faces_dir: Path) -> None:
    created = client.post("/api/v1/students", json={"external_id": "S-9", "name": "Nine"}).json()
    session_id = _course_session(client, [])
    refused = client.put(
        f"/api/v1/sessions/{session_id}/attendance/{created['id']}", json={"status": "present"}
    )
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "student_not_found"
    wrong = client.put(
        f"/api/v1/sessions/{session_id}/attendance/{created['id']}", json={"status": "gone"}
    )
    assert wrong.status_code == 422
    unknown = client.put("/api/v1/sessions/999/attendance/1", json={"status": "present"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "session_not_found"
