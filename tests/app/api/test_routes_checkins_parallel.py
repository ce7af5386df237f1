"""Parallel classes at one door, on real photos: with several sessions in progress and no
session id, a check-in searches the union of their rosters and marks each student in the
session whose roster holds them; a student on several of them, or on none, is answered for
that face only (never a 409 for the whole request), and a kiosk is told no session names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.embedder import FaceEmbedder
from tests.support.helpers import ENROLLED, enroll_five, face_threshold

CHECKIN = "/api/v1/checkins"
PEOPLE = "people"


def _running_session_of(client: TestClient, code: str, members: list[int]) -> dict:
    course = client.post("/api/v1/courses", json={"code": code, "name": f"Class {code}"}).json()
    roster = client.put(f"/api/v1/courses/{course['id']}/students", json={"student_ids": members})
    assert roster.status_code == 200, roster.text
    now = dt.datetime.now(dt.UTC)
    session = client.post(
        "/api/v1/sessions",
        json={
            "name": f"Period 1 {code}",
            "course_id": course["id"],
            "starts_at": (now - dt.timedelta(minutes=10)).isoformat(),
            "ends_at": (now + dt.timedelta(minutes=50)).isoformat(),
        },
    )
    assert session.status_code == 201, session.text
    return {**session.json(), "course": course}


def _faces(client: TestClient, photo: Path, **headers: str) -> tuple[dict, list[dict]]:
    with photo.open("rb") as handle:
        answer = client.post(CHECKIN, files={"file": (photo.name, handle)}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json(), answer.json()["faces"]


def _marked(client: TestClient, session_id: int) -> set[int]:
    rows = client.get("/api/v1/attendance", params={"session_id": session_id}).json()
    return {row["student"]["id"] for row in rows}


def test_parallel_sessions_mark_each_student_in_their_own_class(
    client: TestClient, faces_dir: Path, embedder: FaceEmbedder
) -> None:
    people = faces_dir / PEOPLE
    ids = enroll_five(client, faces_dir)
    # Disjoint rosters; Alex is on neither.
    maths = _running_session_of(client, "MATHS", [ids["barack_obama"], ids["kit_harington"]])
    french = _running_session_of(client, "FRENCH", [ids["joe_biden"], ids["rose_leslie"]])
    union = [
        people / "barack_obama" / ENROLLED["barack_obama"],
        people / "kit_harington" / ENROLLED["kit_harington"],
        people / "joe_biden" / ENROLLED["joe_biden"],
        people / "rose_leslie" / ENROLLED["rose_leslie"],
    ]

    obama2 = people / "barack_obama" / "obama2.jpg"
    answer, [face] = _faces(client, obama2)
    assert answer["session"] is None and answer["sessions_searched"] == 2
    assert face["decision"] == "present" and face["student"]["id"] == ids["barack_obama"]
    assert face["session_id"] == maths["id"]
    # Searched among the union of both rosters, with the threshold for its size.
    assert face["candidates"] == len(union)
    expected = face_threshold(embedder, obama2, union)
    assert face["threshold"] == pytest.approx(expected, abs=1e-4)

    _, [face] = _faces(client, people / "joe_biden" / "biden2.jpg")
    assert face["decision"] == "present" and face["session_id"] == french["id"]

    # A group photo with members of both classes marks each in their own.
    _, faces = _faces(client, faces_dir / "group" / "kit_with_rose.jpg")
    assert sorted((f["decision"], f["session_id"]) for f in faces) == sorted(
        [("present", maths["id"]), ("present", french["id"])]
    )
    _, faces = _faces(client, faces_dir / "group" / "two_people.jpg")
    assert sorted(f["decision"] for f in faces) == ["already_present"] * 2
    assert {f["session_id"] for f in faces} == {maths["id"], french["id"]}

    # On neither roster: not_on_roster for that face only; a stranger: unknown.
    _, [face] = _faces(client, people / "alex_lacamoire" / "alex2.jpg")
    assert face["decision"] == "not_on_roster" and face["student"]["id"] == ids["alex_lacamoire"]
    assert face["session_id"] is None and face["attendance_id"] is None
    _, [face] = _faces(client, people / "paul_rudd" / "1.jpg")
    assert face["decision"] == "unknown" and face["student"] is None

    assert _marked(client, maths["id"]) == {ids["barack_obama"], ids["kit_harington"]}
    assert _marked(client, french["id"]) == {ids["joe_biden"], ids["rose_leslie"]}
    assert (
        client.get("/api/v1/attendance", params={"student_id": ids["alex_lacamoire"]}).json() == []
    )
    report = client.get(f"/api/v1/sessions/{maths['id']}/report").json()
    assert {r["student"]["id"] for r in report["present"]} == {
        ids["barack_obama"],
        ids["kit_harington"],
    }
    assert report["absent"] == []


def test_a_student_on_both_running_rosters_is_ambiguous_for_their_face_only(
    client: TestClient, faces_dir: Path
) -> None:
    people = faces_dir / PEOPLE
    ids = enroll_five(client, faces_dir)
    both = ids["kit_harington"]
    maths = _running_session_of(client, "MATHS", [ids["barack_obama"], both])
    french = _running_session_of(client, "FRENCH", [ids["rose_leslie"], both])
    kiosk_key = client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()["key"]

    # Admin: Kit is named with both sessions; Rose, in the same photo, is marked in French.
    _, faces = _faces(client, faces_dir / "group" / "kit_with_rose.jpg")
    by_student = {f["student"]["id"]: f for f in faces}
    kit, rose = by_student[both], by_student[ids["rose_leslie"]]
    assert kit["decision"] == "ambiguous_session" and kit["attendance_id"] is None
    assert sorted(kit["ambiguous_session_ids"]) == sorted([maths["id"], french["id"]])
    assert kit["session_id"] is None
    assert rose["decision"] == "present" and rose["session_id"] == french["id"]

    # A kiosk: 200, the same decisions, no name of the unmarked student, no session named.
    answer, faces = _faces(
        client, people / "kit_harington" / "kit2.jpg", **{"X-API-Key": kiosk_key}
    )
    [face] = faces
    assert face["decision"] == "ambiguous_session"
    assert face["student"] is None and face["ambiguous_session_ids"] is None
    assert answer["session"] is None
    text = str(answer)
    assert "Period 1" not in text and "MATHS" not in text and "FRENCH" not in text
    _, [face] = _faces(client, people / "barack_obama" / "obama2.jpg", **{"X-API-Key": kiosk_key})
    assert face["decision"] == "present" and face["session_id"] == maths["id"]

    assert _marked(client, maths["id"]) == {ids["barack_obama"]}
    assert _marked(client, french["id"]) == {ids["rose_leslie"]}

    # A burst of frames goes the same way.
    burst = [people / "kit_harington" / name for name in ("kit2.jpg", "kit3.jpg")]
    with burst[0].open("rb") as one, burst[1].open("rb") as two:
        sent = client.post(CHECKIN, files=[("file", one), ("file", two)])
    assert sent.status_code == 200, sent.text
    [face] = sent.json()["faces"]
    assert face["decision"] == "ambiguous_session" and face["frames"] == 2
