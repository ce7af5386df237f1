"""A course's register grid on a known register, on SQLite and PostgreSQL: each cell, the
totals per student and per session, a correction and an undo seen in the grid, the CSV (a
byte-order mark, a dated name), a teacher key's scope and the range's bounds."""

from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi.testclient import TestClient

from tests.app.api.test_routes_reports import REGISTER, _register

GRID = "/api/v1/reports/register"


def _statuses(body: dict) -> dict[str, list[str | None]]:
    return {
        row["student"]["external_id"]: [c["status"] if c else None for c in row["cells"]]
        for row in body["rows"]
    }


def test_the_grid_of_a_known_register(client: TestClient) -> None:
    today = dt.datetime.now(dt.UTC).date()
    course, students, days = _register(client, today)
    span = {"course_id": course, "date_from": days[0], "date_to": today + dt.timedelta(days=5)}
    answer = client.get(GRID, params=span)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["course"]["code"] == "GEO"
    assert [s["held"] for s in body["sessions"]] == [True, True, True, True, False]
    # Never marked in a held session: absent, with no source; a session to come: empty.
    expected = {sid: [m or "absent" for m in marks] + [None] for sid, marks in REGISTER.items()}
    assert _statuses(body) == expected
    by_id = {row["student"]["external_id"]: row for row in body["rows"]}
    assert by_id["S-2"]["cells"][3] == {"status": "absent", "source": None, "reason": None}
    assert by_id["S-2"]["totals"] == {"present": 1, "late": 1, "excused": 1, "absent": 1}
    assert by_id["S-2"]["rate"] == 0.6667 and by_id["S-4"]["rate"] is None
    first = body["sessions"][0]["totals"]
    assert first == {"present": 2, "late": 0, "excused": 1, "absent": 1}

    # A correction and an undo change the cell and both totals.
    session = body["sessions"][3]["id"]
    mark = f"/api/v1/sessions/{session}/attendance/{students['S-2']}"
    assert client.put(mark, json={"status": "late", "reason": "bus"}).status_code == 200
    assert client.delete(f"/api/v1/sessions/{session}/attendance/{students['S-1']}").status_code
    after = client.get(GRID, params=span).json()
    rows = {row["student"]["external_id"]: row for row in after["rows"]}
    assert rows["S-2"]["cells"][3] == {"status": "late", "source": "manual", "reason": "bus"}
    assert rows["S-2"]["totals"]["late"] == 2 and rows["S-2"]["totals"]["absent"] == 0
    assert rows["S-1"]["cells"][3]["source"] is None
    assert after["sessions"][3]["totals"] == {"present": 0, "late": 2, "excused": 1, "absent": 1}

    # One day: one session; the range's ends are days in the school's zone, both included.
    one_day = client.get(GRID, params={**span, "date_from": days[2], "date_to": days[2]}).json()
    assert len(one_day["sessions"]) == 1 and len(one_day["rows"]) == len(REGISTER)


def test_the_register_as_a_spreadsheet(client: TestClient) -> None:
    today = dt.datetime.now(dt.UTC).date()
    course, _, days = _register(client, today)
    span = {"course_id": course, "date_from": days[0], "date_to": days[3], "format": "csv"}
    exported = client.get(GRID, params=span)
    assert exported.headers["content-type"].startswith("text/csv")
    disposition = exported.headers["content-disposition"]
    assert disposition == f'attachment; filename="register-GEO-{days[0]}-{days[3]}.csv"'
    assert exported.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    head, *rows = lines
    assert head[:2] == ["external_id", "name"] and head[-5:] == [
        "present",
        "late",
        "excused",
        "absent",
        "rate",
    ]
    assert len(head) == 2 + 4 + 5 and head[2].startswith(days[0].isoformat())
    by_id = {row[0]: row for row in rows if row[0]}
    assert by_id["S-3"][2:6] == ["absent", "late", "late", "late"]
    assert by_id["S-3"][6:] == ["0", "3", "0", "1", "0.7500"]
    totals = {row[1]: row[2:6] for row in rows if not row[0]}
    assert totals["total present"] == ["2", "1", "1", "1"]
    assert totals["total absent"] == ["1", "0", "0", "1"]


def test_a_teacher_reads_its_course_only_and_the_range_is_bounded(client: TestClient) -> None:
    today = dt.datetime.now(dt.UTC).date()
    course, _, days = _register(client, today)
    other = client.post("/api/v1/courses", json={"code": "BIO", "name": "Bio"}).json()["id"]
    body = {"name": "Ms Geo", "role": "teacher", "course_ids": [course]}
    teacher = {"X-API-Key": client.post("/api/v1/keys", json=body).json()["key"]}
    span = {"date_from": days[0], "date_to": today}
    assert client.get(GRID, params={**span, "course_id": course}, headers=teacher).is_success
    refused = client.get(GRID, params={**span, "course_id": other}, headers=teacher)
    missing = client.get(GRID, params={**span, "course_id": 9999})
    assert refused.status_code == missing.status_code == 404
    assert refused.json()["error"]["code"] == missing.json()["error"]["code"] == "course_not_found"

    backwards = client.get(
        GRID, params={"course_id": course, "date_from": today, "date_to": days[0]}
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "empty_date_range"
    too_long = {"course_id": course, "date_from": "2026-01-01", "date_to": "2027-03-01"}
    answer = client.get(GRID, params=too_long)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "date_range_too_long"
    assert client.get(GRID, params={"course_id": course}).status_code == 422  # no range
