"""A teacher key, on SQLite and PostgreSQL: it reads and corrects its own courses' rosters,
sessions and attendance, and another course is to it as if it did not exist (404); it enrolls
nobody and manages nothing (403)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

A_DAY = dt.timedelta(days=1)


def _course(client: TestClient, code: str, members: list[int]) -> tuple[int, int]:
    """A course with this roster and one session of it yesterday: (course id, session id)."""
    course = client.post("/api/v1/courses", json={"code": code, "name": code}).json()["id"]
    assert client.put(f"/api/v1/courses/{course}/students", json={"student_ids": members})
    start = dt.datetime.now(dt.UTC) - A_DAY
    session = client.post(
        "/api/v1/sessions",
        json={
            "name": code,
            "course_id": course,
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        },
    )
    assert session.status_code == 201, session.text
    return course, session.json()["id"]


def _student(client: TestClient, external_id: str) -> int:
    created = client.post("/api/v1/students", json={"external_id": external_id, "name": "P"})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_a_teacher_key_sees_and_corrects_its_courses_only(client: TestClient) -> None:
    ann, bob = _student(client, "ANN"), _student(client, "BOB")
    art, art_session = _course(client, "ART", [ann])
    bio, bio_session = _course(client, "BIO", [bob])
    for session, student in ((art_session, ann), (bio_session, bob)):
        marked = client.put(
            f"/api/v1/sessions/{session}/attendance/{student}", json={"status": "present"}
        )
        assert marked.status_code == 200, marked.text

    created = client.post(
        "/api/v1/keys", json={"name": "Ms Art", "role": "teacher", "course_ids": [art]}
    )
    assert created.status_code == 201, created.text
    assert created.json()["course_ids"] == [art]
    teacher = {"X-API-Key": created.json()["key"]}

    def get(url: str, **params: object) -> object:
        return client.get(url, params=params, headers=teacher)

    # Inside its course: everything a teacher reads, and corrections.
    assert [c["code"] for c in get("/api/v1/courses").json()] == ["ART"]
    assert get(f"/api/v1/courses/{art}").status_code == 200
    assert [s["id"] for s in get(f"/api/v1/courses/{art}/students").json()["students"]] == [ann]
    assert [s["id"] for s in get("/api/v1/sessions").json()["items"]] == [art_session]
    assert get(f"/api/v1/sessions/{art_session}").status_code == 200
    assert get(f"/api/v1/sessions/{art_session}/report").status_code == 200
    assert [r["student"]["id"] for r in get("/api/v1/attendance").json()] == [ann]
    assert get("/api/v1/attendance", student_id=ann).status_code == 200
    mark = f"/api/v1/sessions/{art_session}/attendance/{ann}"
    corrected = client.put(mark, json={"status": "excused", "reason": "trip"}, headers=teacher)
    assert corrected.status_code == 200 and corrected.json()["status"] == "excused"
    history = get(f"{mark}/history").json()
    assert history[-1]["key_name"] == "Ms Art" and history[-1]["key_id"] == created.json()["id"]
    rates = get("/api/v1/reports/attendance")
    assert [r["student"]["id"] for r in rates.json()["students"]] == [ann]

    # Another course: not found, exactly as a course or session that does not exist.
    outside = [
        f"/api/v1/courses/{bio}",
        f"/api/v1/courses/{bio}/students",
        f"/api/v1/sessions/{bio_session}",
        f"/api/v1/sessions/{bio_session}/report",
        f"/api/v1/sessions/{bio_session}/attendance/{bob}/history",
    ]
    for url in outside:
        answer = get(url)
        assert answer.status_code == 404, (url, answer.text)
        missing = client.get(url.replace(str(bio_session), "999").replace(f"/{bio}", "/999"))
        assert answer.json()["error"]["code"] == missing.json()["error"]["code"], url
    assert get("/api/v1/attendance", session_id=bio_session).status_code == 404
    assert get("/api/v1/attendance", student_id=bob).status_code == 404
    assert get("/api/v1/reports/attendance", course_id=bio).status_code == 404
    bio_mark = f"/api/v1/sessions/{bio_session}/attendance/{bob}"
    assert client.put(bio_mark, json={"status": "absent"}, headers=teacher).status_code == 404
    assert client.delete(bio_mark, headers=teacher).status_code == 404
    assert client.get(bio_mark + "/history").json()[0]["after_status"] == "present"  # unchanged

    # It enrolls nobody and manages nothing.
    refused = [
        ("POST", "/api/v1/students", {"external_id": "NEW", "name": "N"}),
        ("PUT", f"/api/v1/courses/{art}/students", {"student_ids": [ann, bob]}),
        ("POST", "/api/v1/courses", {"code": "X", "name": "X"}),
        ("PATCH", f"/api/v1/courses/{art}", {"name": "Y"}),
        ("GET", "/api/v1/students", None),
        ("GET", "/api/v1/keys", None),
    ]
    for method, url, body in refused:
        answer = client.request(method, url, json=body, headers=teacher)
        assert answer.status_code == 403, (method, url, answer.text)

    # The admin gives it the other course too: it sees it at once.
    moved = client.put(f"/api/v1/keys/{created.json()['id']}/courses", json={"course_ids": [bio]})
    assert moved.status_code == 200 and moved.json()["course_ids"] == [bio]
    assert get(f"/api/v1/sessions/{bio_session}").status_code == 200
    assert get(f"/api/v1/sessions/{art_session}").status_code == 404


def test_only_a_teacher_key_has_courses(client: TestClient) -> None:
    art, _ = _course(client, "ART", [])
    kiosk = client.post("/api/v1/keys", json={"name": "k", "role": "kiosk", "course_ids": [art]})
    assert kiosk.status_code == 422 and kiosk.json()["error"]["code"] == "not_a_teacher_key"
    unknown = client.post("/api/v1/keys", json={"name": "t", "role": "teacher", "course_ids": [99]})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "course_not_found"
    assert [k["name"] for k in client.get("/api/v1/keys").json()] == []  # neither was made
