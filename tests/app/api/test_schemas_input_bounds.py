"""Inputs at the edges answer the same clear 4xx on SQLite and PostgreSQL, never a 500.

Ids up to the API's bound (2^63-1), NUL characters in text, offsets past 64 bits, times at the
ends of the date range, and values only a lax parser would take (0 as a time or a boolean,
"1.0" as an id).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.api.guard import KEYLESS_PATHS
from app.core.config import Settings
from tests.support.settings import count_rows

BIG_IDS = (2**31, 2**40, 2**63 - 1)
SESSION = {"name": "Art", "starts_at": "2026-01-01T09:00Z", "ends_at": "2026-01-01T10:00Z"}


def _refused(response, field: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    if field is not None:
        assert field in error["message"], error


def test_ids_beyond_32_bits_are_simply_not_found(client: TestClient) -> None:
    for big in BIG_IDS:
        for url in (f"/api/v1/students/{big}", f"/api/v1/sessions/{big}"):
            response = client.get(url)
            assert response.status_code == 404, (url, response.text)
        assert client.delete(f"/api/v1/keys/{big}").status_code == 404
        for name in ("student_id", "session_id"):  # a filter of no one: 404, not 200 []
            response = client.get("/api/v1/attendance", params={name: big})
            assert response.status_code == 404, response.text
    _refused(client.get(f"/api/v1/students/{2**63}"), "student_id")


def test_nul_characters_are_refused_everywhere(client: TestClient, settings: Settings) -> None:
    student = client.post("/api/v1/students", json={"external_id": "S1", "name": "Sam"}).json()
    for body in ({"external_id": "S\x002", "name": "Sue"}, {"external_id": "S2", "name": "S\x00"}):
        _refused(client.post("/api/v1/students", json=body), "NUL")
    _refused(client.patch(f"/api/v1/students/{student['id']}", json={"name": "x\x00"}), "NUL")
    _refused(client.get("/api/v1/students", params={"q": "Sa\x00m"}), "NUL")
    _refused(client.post("/api/v1/sessions", json={**SESSION, "name": "A\x00rt"}), "NUL")
    _refused(client.post("/api/v1/keys", json={"name": "k\x00", "role": "kiosk"}), "NUL")
    assert client.get(f"/api/v1/students/{student['id']}").json()["name"] == "Sam"
    assert count_rows(settings.database_url, "students") == 1
    assert count_rows(settings.database_url, "class_sessions") == 0


def test_control_characters_are_refused_in_names(client: TestClient, settings: Settings) -> None:
    """ESC, CR, LF, tab, DEL or a C1 control in a name would split an export's rows or drive a
    terminal (ESC was accepted); none is ever needed in a name."""
    student = client.post("/api/v1/students", json={"external_id": "S1", "name": "Sam"}).json()
    for control in ("\x1b[31m", "\r=cmd", "\n", "\t", "\x7f", "\x85"):
        named = {"external_id": "S2", "name": f"Sue{control}"}
        _refused(client.post("/api/v1/students", json=named), "control characters")
        _refused(client.post("/api/v1/students", json={"external_id": f"S{control}2", "name": "S"}))
        _refused(client.patch(f"/api/v1/students/{student['id']}", json={"name": f"x{control}y"}))
        _refused(client.post("/api/v1/sessions", json={**SESSION, "name": f"A{control}rt"}))
        _refused(client.post("/api/v1/courses", json={"code": "C1", "name": f"M{control}a"}))
        _refused(client.post("/api/v1/keys", json={"name": f"k{control}", "role": "kiosk"}))
    assert client.get(f"/api/v1/students/{student['id']}").json()["name"] == "Sam"
    assert count_rows(settings.database_url, "students") == 1
    for table in ("class_sessions", "courses"):
        assert count_rows(settings.database_url, table) == 0
    # Letters of every script stay welcome.
    assert client.post(
        "/api/v1/students", json={"external_id": "S3", "name": "Émile Zoë 王"}
    ).is_success


def test_offset_beyond_64_bits_is_refused(client: TestClient) -> None:
    page = client.get("/api/v1/students", params={"offset": 2**63 - 1})
    assert page.status_code == 200 and page.json()["items"] == []
    _refused(client.get("/api/v1/students", params={"offset": 2**63}), "offset")


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("9999-12-31T22:00:00Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T22:00:00-05:00", "9999-12-31T23:00:00-05:00"),
        ("0001-01-01T00:00:00+01:00", "0001-01-01T02:00:00+01:00"),
        ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
    ],
)
def test_times_at_the_ends_of_the_date_range_are_refused(
    client: TestClient, settings: Settings, starts_at: str, ends_at: str
) -> None:
    body = {**SESSION, "starts_at": starts_at, "ends_at": ends_at}
    _refused(client.post("/api/v1/sessions", json=body), "starts_at")
    assert count_rows(settings.database_url, "class_sessions") == 0
    assert client.get("/api/v1/sessions").status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/sessions", {"date_to": "9999-12-31"}, "date_to"),
        ("/api/v1/sessions", {"date_from": "0001-01-01"}, "date_from"),
        ("/api/v1/sessions/today", {"day": "9999-12-31"}, "day"),
        ("/api/v1/sessions/today", {"day": "0001-01-01"}, "day"),
        (
            "/api/v1/reports/register",
            {"course_id": 1, "date_from": "2026-01-05", "date_to": "9999-12-31"},
            "date_to",
        ),
    ],
)
def test_days_at_the_ends_of_the_calendar_are_refused(
    client: TestClient, path: str, params: dict[str, object], field: str
) -> None:
    # Their midnight in UTC (or the day after) is outside what datetime holds: once a 500.
    _refused(client.get(path, params=params), field)
    assert client.get(path, params={**params, field: "2026-01-05"}).status_code in (200, 404)


def test_far_but_ordinary_times_are_kept(client: TestClient) -> None:
    body = {**SESSION, "starts_at": "8999-12-31T09:00:00+02:00", "ends_at": "8999-12-31T10:00Z"}
    created = client.post("/api/v1/sessions", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["starts_at"].startswith("8999-12-31T07:00:00")
    assert client.get(f"/api/v1/sessions/{created.json()['id']}/report").status_code == 200


def test_lax_coercions_are_refused(client: TestClient, settings: Settings) -> None:
    _refused(client.post("/api/v1/sessions", json={**SESSION, "starts_at": 0}), "starts_at")
    _refused(
        client.post("/api/v1/students", json={"external_id": "S1", "name": "S", "active": 0}),
        "active",
    )
    _refused(
        client.post("/api/v1/students", json={"external_id": "S1", "name": "S", "active": "yes"}),
        "active",
    )
    student = client.post("/api/v1/students", json={"external_id": "S1", "name": "S"}).json()
    _refused(client.patch(f"/api/v1/students/{student['id']}", json={"active": 1}), "active")
    for id_text in (f"{student['id']}.0", f"+{student['id']}", f"{student['id']}_0"):
        _refused(client.get(f"/api/v1/students/{id_text}"), "student_id")
    _refused(client.get("/api/v1/students", params={"limit": "5.0"}), "limit")
    _refused(client.get("/api/v1/attendance", params={"student_id": "1.0"}), "student_id")
    assert client.get(f"/api/v1/students/{student['id']}").json()["active"] is True
    assert count_rows(settings.database_url, "class_sessions") == 0


def test_roster_ids_are_json_integers(client: TestClient) -> None:
    """True, 1.0 and "1" were each taken as student 1."""
    student = client.post("/api/v1/students", json={"external_id": "S1", "name": "Sam"}).json()
    course = client.post("/api/v1/courses", json={"code": "C1", "name": "Maths"}).json()
    url = f"/api/v1/courses/{course['id']}/students"
    for lax in (True, 1.0, "1", str(student["id"])):
        _refused(client.put(url, json={"student_ids": [lax]}), "student_ids")
    assert client.get(url).json()["students"] == []
    assert client.put(url, json={"student_ids": [student["id"]]}).status_code == 200


def test_look_alike_external_ids_are_one_student(client: TestClient) -> None:
    """Fullwidth digits and format characters (a zero-width space, a direction mark) make no
    new student: ids are NFKC-normalised and stripped of format characters."""
    first = client.post("/api/v1/students", json={"external_id": "S12", "name": "Sam"})
    assert first.status_code == 201
    for look_alike in ("S\uff11\uff12", "S\u200b12", "\u200eS12", "\uff3312"):
        again = client.post("/api/v1/students", json={"external_id": look_alike, "name": "X"})
        assert again.status_code == 409, (look_alike, again.text)
        assert again.json()["error"]["code"] == "duplicate_external_id"
    other = client.post("/api/v1/students", json={"external_id": "\uff33\uff17", "name": "Y"})
    assert other.status_code == 201 and other.json()["external_id"] == "S7"
    renamed = client.patch(
        f"/api/v1/students/{other.json()['id']}", json={"external_id": "S\u200d12"}
    )
    assert renamed.status_code == 409
    course = client.post("/api/v1/courses", json={"code": "MATH\u200b-1", "name": "Maths"})
    assert course.status_code == 201 and course.json()["code"] == "MATH-1"


def test_the_openapi_bounds_are_json_schema(client: TestClient) -> None:
    """Ids, limit and offset were exported with pydantic's "ge"/"le", which no
    OpenAPI tool reads, in place of JSON Schema's "minimum"/"maximum"."""
    spec = client.get("/openapi.json").json()

    def keys(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "properties":  # a property may be named anything
                    yield key
                yield from keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from keys(item)

    assert not {"ge", "le", "gt", "lt"} & set(keys(spec))
    [limit] = [
        p for p in spec["paths"]["/api/v1/students"]["get"]["parameters"] if p["name"] == "limit"
    ]
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    for lax in ("1.0", "+1", " 1"):
        _refused(client.get("/api/v1/students", params={"limit": lax}), "limit")
        assert client.get(f"/api/v1/students/{lax}").status_code == 422


def test_attendance_filters_that_can_only_match_nothing_are_refused(client: TestClient) -> None:
    """`?day=0` was read as 1970-01-01, and unknown ids or a range that ends before
    it starts answered 200 []."""
    attendance = "/api/v1/attendance"
    for name in ("day", "date_from", "date_to"):
        for lax in ("0", "20260101", "1767225600", "2026-1-1"):
            _refused(client.get(attendance, params={name: lax}), name)
    inverted = client.get(attendance, params={"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert inverted.status_code == 422 and inverted.json()["error"]["code"] == "empty_date_range"
    for name, code in (("student_id", "student_not_found"), ("session_id", "session_not_found")):
        unknown = client.get(attendance, params={name: 7})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == code
    fine = client.get(attendance, params={"date_from": "2026-01-01", "date_to": "2026-01-01"})
    assert fine.status_code == 200 and fine.json() == []


def test_every_operation_documents_the_answers_it_can_give(client: TestClient) -> None:
    """/me left out 401; 431, 500 and 503 (and now 429, 414 and 400) were documented nowhere."""
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"400", "414", "431", "500", "503"} <= documented, (method, path, documented)
            if path in KEYLESS_PATHS:  # the pairing code is the credential: no key to refuse
                assert "429" in documented and "401" not in documented, (method, path)
            elif path != "/health":
                assert {"401", "429"} <= documented, (method, path, documented)
