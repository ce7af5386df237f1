"""Attendance rates on a known register, on SQLite and PostgreSQL: four sessions held, one to
come; each student's counts and rate exact, the chronic-absence list below the setting, the
date range and the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.settings import ADMIN_KEY, make_settings

RATES = "/api/v1/reports/attendance"
# Each student's marks in the four held sessions, oldest first (None: never marked).
REGISTER = {
    "S-1": ["present", "present", "present", "present"],  # 4/4 = 1.0
    "S-2": ["present", "late", "excused", None],  # 2/(4-1) = 0.6667
    "S-3": ["absent", "late", "late", "late"],  # 3/4 = 0.75
    "S-4": ["excused", "excused", "excused", "excused"],  # nothing counts: no rate
}


def _register(client: TestClient, today: dt.date) -> tuple[int, dict[str, int], list[dt.date]]:
    students = {}
    for external_id in REGISTER:
        made = client.post("/api/v1/students", json={"external_id": external_id, "name": "P"})
        students[external_id] = made.json()["id"]
    course = client.post("/api/v1/courses", json={"code": "GEO", "name": "Geo"}).json()["id"]
    roster = {"student_ids": list(students.values())}
    assert client.put(f"/api/v1/courses/{course}/students", json=roster).status_code == 200
    days = [today - dt.timedelta(days=n) for n in (10, 9, 8, 7)]
    for index, day in enumerate([*days, today + dt.timedelta(days=3)]):  # the last: to come
        start = dt.datetime.combine(day, dt.time(12), dt.UTC)
        session = client.post(
            "/api/v1/sessions",
            json={
                "name": f"Geo {index}",
                "course_id": course,
                "starts_at": start.isoformat(),
                "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
            },
        ).json()["id"]
        for external_id, marks in REGISTER.items():
            status = marks[index] if index < len(marks) else None
            if status is not None:
                url = f"/api/v1/sessions/{session}/attendance/{students[external_id]}"
                assert client.put(url, json={"status": status}).status_code == 200
    other = client.post("/api/v1/courses", json={"code": "ART", "name": "Art"}).json()["id"]
    start = dt.datetime.combine(days[0], dt.time(14), dt.UTC).isoformat()
    client.post(  # another course's session: not in GEO's rates
        "/api/v1/sessions",
        json={
            "name": "Art",
            "course_id": other,
            "starts_at": start,
            "ends_at": "2100-01-01T00:00Z",
        },
    )
    return course, students, days


def _counts(answer: dict) -> dict[str, tuple]:
    return {
        one["student"]["external_id"]: (
            one["sessions"],
            one["present"],
            one["late"],
            one["excused"],
            one["absent"],
            one["rate"],
        )
        for one in answer["students"]
    }


def test_rates_on_a_known_register(client: TestClient) -> None:
    today = dt.datetime.now(dt.UTC).date()
    course, _, days = _register(client, today)
    answer = client.get(RATES, params={"course_id": course})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sessions"] == 4 and body["threshold"] == 0.9 and body["course"]["code"] == "GEO"
    assert _counts(body) == {
        "S-1": (4, 4, 0, 0, 0, 1.0),
        "S-2": (4, 1, 1, 1, 1, 0.6667),
        "S-3": (4, 0, 3, 0, 1, 0.75),
        "S-4": (4, 0, 0, 4, 0, None),
    }
    assert [one["student"]["external_id"] for one in body["chronic"]] == ["S-2", "S-3"]

    # From the second session on: S-3's absence drops out, S-2 keeps its missing mark.
    later = client.get(RATES, params={"course_id": course, "date_from": days[1].isoformat()})
    assert _counts(later.json())["S-3"] == (3, 0, 3, 0, 0, 1.0)
    assert _counts(later.json())["S-2"] == (3, 0, 1, 1, 1, 0.5)
    assert [one["student"]["external_id"] for one in later.json()["chronic"]] == ["S-2"]
    one_day = client.get(
        RATES,
        params={"course_id": course, "date_from": days[2].isoformat(), "date_to": days[2]},
    ).json()
    assert one_day["sessions"] == 1 and _counts(one_day)["S-2"] == (1, 0, 0, 1, 0, None)

    exported = client.get(RATES, params={"course_id": course, "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = {row["external_id"]: row for row in csv.DictReader(io.StringIO(exported.text))}
    assert rows["S-2"]["rate"] == "0.6667" and rows["S-2"]["chronic"] == "yes"
    assert rows["S-1"]["rate"] == "1.0000" and rows["S-1"]["chronic"] == "no"
    assert rows["S-4"]["rate"] == "" and rows["S-4"]["absent"] == "0"

    backwards = client.get(RATES, params={"date_from": days[1], "date_to": days[0]})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "empty_date_range"
    assert client.get(RATES, params={"course_id": 999}).status_code == 404


def test_the_chronic_threshold_is_a_setting(
    tmp_path: Path, database_url: str, embedder: FaceEmbedder
) -> None:
    settings = make_settings(tmp_path, database_url=database_url, chronic_absence_rate=0.7)
    app = create_app(settings, embedder)
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}) as client:
        course, _, _ = _register(client, dt.datetime.now(dt.UTC).date())
        body = client.get(RATES, params={"course_id": course}).json()
    assert body["threshold"] == 0.7
    assert [one["student"]["external_id"] for one in body["chronic"]] == ["S-2"]
