"""Courses and rosters on real photos: a course session searches its roster; absent, late,
not on the roster; the CLI and CSV show the same."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.helpers import ENROLLED, enroll_five, face_threshold, post_file
from tests.support.settings import ADMIN_KEY, make_settings

CHECKIN = "/api/v1/checkins"
ROSTER_FIVE = ("barack_obama", "joe_biden", "rose_leslie", "alex_lacamoire")
PEOPLE = "people"


def _session(client: TestClient, name: str, **body: object) -> dict:
    now = dt.datetime.now(dt.UTC)
    body.setdefault("starts_at", (now - dt.timedelta(minutes=30)).isoformat())
    body.setdefault("ends_at", (now + dt.timedelta(minutes=30)).isoformat())
    created = client.post("/api/v1/sessions", json={"name": name, **body})
    assert created.status_code == 201, created.text
    return created.json()


def _course_of_five(client: TestClient, faces_dir: Path) -> tuple[dict[str, int], dict]:
    """The five enrolled, plus Angelina Jolie; Kit Harington is enrolled but not on the course."""
    ids = enroll_five(client, faces_dir)
    jolie = client.post("/api/v1/students", json={"external_id": "jolie", "name": "A J"}).json()
    post_file(
        client,
        f"/api/v1/students/{jolie['id']}/photo",
        faces_dir / PEOPLE / "angelina_jolie" / "1.jpg",
    )
    ids["angelina_jolie"] = jolie["id"]
    course = client.post("/api/v1/courses", json={"code": "MATH-1", "name": "Maths"}).json()
    members = [ids[n] for n in ROSTER_FIVE[:4]]
    members.append(jolie["id"])
    roster = client.put(f"/api/v1/courses/{course['id']}/students", json={"student_ids": members})
    assert roster.status_code == 200, roster.text
    assert sorted(s["id"] for s in roster.json()["students"]) == sorted(members)
    return ids, course


@pytest.mark.slow
def test_a_course_session_searches_its_roster_and_reports_absent_and_not_on_roster(
    client: TestClient, faces_dir: Path, embedder: FaceEmbedder
) -> None:
    ids, course = _course_of_five(client, faces_dir)
    assert client.get(f"/api/v1/courses/{course['id']}").json()["students"] == 5
    session = _session(client, "Maths", course_id=course["id"])
    assert session["course_id"] == course["id"]

    obama = post_file(
        client,
        CHECKIN,
        faces_dir / PEOPLE / "barack_obama" / "obama2.jpg",
        session_id=session["id"],
    )
    [face] = obama.json()["faces"]
    assert face["decision"] == "present" and face["student"]["id"] == ids["barack_obama"]
    # The roster's 5 were searched, with the threshold for 5 people, not the gallery's 6.
    assert face["candidates"] == 5
    members = [faces_dir / PEOPLE / n / ENROLLED[n] for n in ROSTER_FIVE[:4]]
    members.append(faces_dir / PEOPLE / "angelina_jolie" / "1.jpg")
    probe = faces_dir / PEOPLE / "barack_obama" / "obama2.jpg"
    assert face["threshold"] == pytest.approx(face_threshold(embedder, probe, members), abs=1e-4)

    # Kit is enrolled, recognised in the whole gallery, and not on the roster.
    kit = post_file(
        client, CHECKIN, faces_dir / PEOPLE / "kit_harington" / "kit2.jpg", session_id=session["id"]
    )
    [face] = kit.json()["faces"]
    assert face["decision"] == "not_on_roster", face
    assert face["student"]["id"] == ids["kit_harington"] and face["attendance_id"] is None
    # Decided by the whole gallery's search (all 6), so its threshold and count are those.
    assert face["candidates"] == 6
    everyone = [*members, faces_dir / PEOPLE / "kit_harington" / ENROLLED["kit_harington"]]
    kit2 = faces_dir / PEOPLE / "kit_harington" / "kit2.jpg"
    assert face["threshold"] == pytest.approx(face_threshold(embedder, kit2, everyone), abs=1e-4)
    # A stranger is still unknown.
    rudd = post_file(
        client, CHECKIN, faces_dir / PEOPLE / "paul_rudd" / "1.jpg", session_id=session["id"]
    )
    assert rudd.json()["faces"][0]["decision"] == "unknown"

    report = client.get(f"/api/v1/sessions/{session['id']}/report").json()
    assert report["course"]["code"] == "MATH-1"
    assert [r["student"]["id"] for r in report["present"]] == [ids["barack_obama"]]
    assert {s["external_id"] for s in report["absent"]} == {
        "joe_biden",
        "rose_leslie",
        "alex_lacamoire",
        "jolie",
    }  # Kit is no absentee: he is not on the roster
    assert report["not_on_roster"] == 1 and report["late"] == []

    # A student on several courses; a roster with an id of nobody changes nothing.
    other = client.post("/api/v1/courses", json={"code": "ART-1", "name": "Art"}).json()
    both = client.put(
        f"/api/v1/courses/{other['id']}/students", json={"student_ids": [ids["barack_obama"]]}
    )
    assert both.status_code == 200
    bad = client.put(
        f"/api/v1/courses/{course['id']}/students", json={"student_ids": [ids["joe_biden"], 9999]}
    )
    assert bad.status_code == 404 and bad.json()["error"]["details"]["student_ids"] == [9999]
    assert len(client.get(f"/api/v1/courses/{course['id']}/students").json()["students"]) == 5
    assert client.post("/api/v1/courses", json={"code": "ART-1", "name": "x"}).status_code == 409
    renamed = client.patch(f"/api/v1/courses/{other['id']}", json={"name": "Fine art"})
    assert renamed.json()["name"] == "Fine art" and renamed.json()["students"] == 1
    assert [c["code"] for c in client.get("/api/v1/courses").json()] == ["ART-1", "MATH-1"]
    assert client.delete(f"/api/v1/courses/{other['id']}").status_code == 204
    assert client.get(f"/api/v1/courses/{other['id']}").status_code == 404
    unknown = client.post(
        "/api/v1/sessions",
        json={
            "name": "x",
            "starts_at": "2026-01-01T09:00Z",
            "ends_at": "2026-01-01T10:00Z",
            "course_id": 999,
        },
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "course_not_found"


@pytest.mark.slow
def test_late_after_the_grace_period_in_the_answer_report_and_csv(
    client: TestClient, faces_dir: Path
) -> None:
    ids = enroll_five(client, faces_dir)
    strict = _session(client, "Strict", grace_minutes=10)  # began 30 minutes ago
    lenient = _session(client, "Lenient", grace_minutes=60)
    biden = faces_dir / PEOPLE / "joe_biden" / "biden2.jpg"
    late = post_file(client, CHECKIN, biden, session_id=strict["id"]).json()["faces"][0]
    assert late["decision"] == "present" and late["late"] is True
    on_time = post_file(client, CHECKIN, biden, session_id=lenient["id"]).json()["faces"][0]
    assert on_time["decision"] == "present" and on_time["late"] is False

    # already_present gives the existing row: its id, time and late flag.
    again = post_file(client, CHECKIN, biden, session_id=strict["id"]).json()["faces"][0]
    assert again["decision"] == "already_present"
    assert again["attendance_id"] == late["attendance_id"] and again["late"] is True
    [row] = client.get("/api/v1/attendance", params={"session_id": strict["id"]}).json()
    assert row["late"] is True
    assert dt.datetime.fromisoformat(again["first_checkin_at"]) == dt.datetime.fromisoformat(
        row["first_checkin_at"]
    )

    report = client.get(f"/api/v1/sessions/{strict['id']}/report").json()
    assert [r["student"]["id"] for r in report["late"]] == [ids["joe_biden"]]
    exported = client.get(f"/api/v1/sessions/{strict['id']}/report", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    status = {r["external_id"]: r["status"] for r in table}
    assert status == {"joe_biden": "late", **{k: "absent" for k in ids if k != "joe_biden"}}
    attendance = client.get("/api/v1/attendance", params={"format": "csv"}).text
    assert {r["late"] for r in csv.DictReader(io.StringIO(attendance))} == {"yes", "no"}


@pytest.mark.slow
def test_sessions_behave_like_a_timetable(client: TestClient, faces_dir: Path) -> None:
    enroll_five(client, faces_dir)
    now = dt.datetime.now(dt.UTC)
    later = _session(
        client,
        "Later",
        starts_at=(now + dt.timedelta(hours=1)).isoformat(),
        ends_at=(now + dt.timedelta(hours=2)).isoformat(),
    )
    over = _session(
        client,
        "Over",
        starts_at=(now - dt.timedelta(hours=2)).isoformat(),
        ends_at=(now - dt.timedelta(hours=1)).isoformat(),
    )
    soon = _session(
        client,
        "Soon",
        starts_at=(now + dt.timedelta(minutes=10)).isoformat(),
        ends_at=(now + dt.timedelta(hours=1)).isoformat(),
    )
    biden = faces_dir / PEOPLE / "joe_biden" / "biden2.jpg"
    for session, code in ((later, "session_not_started"), (over, "session_ended")):
        refused = post_file(client, CHECKIN, biden, session_id=session["id"])
        assert refused.status_code == 409 and refused.json()["error"]["code"] == code
        if code == "session_ended":  # it says what to do instead
            assert "check in without a session" in refused.json()["error"]["message"]
    # Ten minutes before the start is inside the early window (ROLLCALL_CHECKIN_EARLY_MINUTES).
    early = post_file(client, CHECKIN, biden, session_id=soon["id"])
    assert early.status_code == 200 and early.json()["faces"][0]["decision"] == "present"
    assert client.get("/api/v1/attendance", params={"session_id": later["id"]}).json() == []

    # Two sessions of no course in progress and no session id: both expect everyone, so the
    # face is ambiguous_session (nothing marked), the answer still a 200 naming both ids.
    first, second = _session(client, "A"), _session(client, "B")
    overlap = post_file(client, CHECKIN, biden)
    assert overlap.status_code == 200, overlap.text
    [face] = overlap.json()["faces"]
    assert face["decision"] == "ambiguous_session" and face["attendance_id"] is None
    assert sorted(face["ambiguous_session_ids"]) == [first["id"], second["id"]]
    # To a kiosk, the same answer names no session (nor which ones could be meant).
    key = client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()["key"]
    with biden.open("rb") as handle:
        kiosk = client.post(CHECKIN, files={"file": handle}, headers={"X-API-Key": key})
    assert kiosk.status_code == 200, kiosk.text
    [face] = kiosk.json()["faces"]
    assert face["decision"] == "ambiguous_session" and face["ambiguous_session_ids"] is None
    assert face["student"] is None and kiosk.json()["session"] is None
    words = set(re.findall(r"\w+", kiosk.text))
    assert not {"A", "B"} & words

    # A time without a zone is refused, never silently taken as UTC.
    naive = client.post(
        "/api/v1/sessions",
        json={"name": "x", "starts_at": "2026-01-01T09:00:00", "ends_at": "2026-01-01T10:00:00Z"},
    )
    assert naive.status_code == 422 and "time zone" in naive.json()["error"]["message"]


@pytest.mark.slow
def test_ambiguous_names_both_students_to_an_admin_and_neither_to_a_kiosk(
    client: TestClient, faces_dir: Path
) -> None:
    """Obama enrolled twice, as two students: obama4.jpg lies 0.34 from both photos."""
    obama = faces_dir / PEOPLE / "barack_obama"
    made = []
    for external_id, photo in (("O1", "obama.jpg"), ("O2", "obama3.jpg")):
        student = client.post(
            "/api/v1/students", json={"external_id": external_id, "name": external_id}
        ).json()
        assert (
            post_file(client, f"/api/v1/students/{student['id']}/photo", obama / photo).status_code
            == 200
        )
        made.append(student["id"])
    admin = post_file(client, CHECKIN, obama / "obama4.jpg").json()["faces"][0]
    assert admin["decision"] == "ambiguous"
    assert {admin["student"]["id"], admin["runner_up"]["id"]} == set(made)
    key = client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()["key"]
    with (obama / "obama4.jpg").open("rb") as handle:
        kiosk = client.post(CHECKIN, files={"file": handle}, headers={"X-API-Key": key})
    face = kiosk.json()["faces"][0]
    assert face["decision"] == "ambiguous" and face["student"] is None and face["runner_up"] is None
    assert "O1" not in kiosk.text and "O2" not in kiosk.text


@pytest.mark.slow
def test_a_setting_marks_non_members_present_instead(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    settings = make_settings(tmp_path, admit_non_members=True)
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        ids, course = _course_of_five(client, faces_dir)
        session = _session(client, "Maths", course_id=course["id"])
        kit = faces_dir / PEOPLE / "kit_harington" / "kit2.jpg"
        [face] = post_file(client, CHECKIN, kit, session_id=session["id"]).json()["faces"]
        assert face["decision"] == "present" and face["student"]["id"] == ids["kit_harington"]
        report = client.get(f"/api/v1/sessions/{session['id']}/report").json()
        assert [r["student"]["id"] for r in report["present"]] == [ids["kit_harington"]]
        assert report["not_on_roster"] == 0
