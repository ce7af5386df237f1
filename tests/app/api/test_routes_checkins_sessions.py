"""What a check-in naming a session tells a kiosk key, and what it tells an admin.

A kiosk may check in only to a session that is open now: whether another id exists, and when
it starts or ended, is not its to learn (an admin sees it all).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from tests.support.helpers import post_file

CHECKIN = "/api/v1/checkins"
PHOTO = Path("people") / "joe_biden" / "biden2.jpg"


def _session(client: TestClient, name: str, starts: dt.datetime, ends: dt.datetime) -> int:
    body = {"name": name, "starts_at": starts.isoformat(), "ends_at": ends.isoformat()}
    created = client.post("/api/v1/sessions", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_a_kiosk_gets_one_answer_for_every_session_it_may_not_use(
    client: TestClient, faces_dir: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    hour = dt.timedelta(hours=1)
    later = _session(client, "Later", now + hour, now + 2 * hour)
    over = _session(client, "Over", now - 2 * hour, now - hour)
    missing = over + 1000
    kiosk = {
        "X-API-Key": client.post("/api/v1/keys", json={"name": "door", "role": "kiosk"}).json()[
            "key"
        ]
    }
    photo = faces_dir / PHOTO

    answers = {}
    for session_id in (later, over, missing):
        with photo.open("rb") as handle:
            answers[session_id] = client.post(
                CHECKIN, files={"file": handle}, data={"session_id": session_id}, headers=kiosk
            )
    for session_id, answer in answers.items():
        assert answer.status_code == 409, answer.text
        error = answer.json()["error"]
        assert error["code"] == "session_not_open" and error["details"] == {}
        # The same words for each, but for the id the kiosk sent itself.
        assert error["message"].replace(str(session_id), "N") == answers[missing].json()["error"][
            "message"
        ].replace(str(missing), "N")
        assert str(now.year) not in error["message"]  # no start or end time

    # An admin still learns which it is, and when.
    details = {
        later: (409, "session_not_started"),
        over: (409, "session_ended"),
        missing: (404, "session_not_found"),
    }
    for session_id, (status, code) in details.items():
        answer = post_file(client, CHECKIN, photo, session_id=session_id)
        assert answer.status_code == status and answer.json()["error"]["code"] == code
    started = post_file(client, CHECKIN, photo, session_id=later).json()["error"]["details"]
    assert set(started) == {"starts_at", "opens_at"}
