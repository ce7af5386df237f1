"""ROLLCALL_LIVENESS=challenge end to end: challenges, bursts, nonces, on each database.

The bursts are real LFW photos of Colin Powell (a head at several poses, his own turn) and
pictures of them: the enrolled photo held up, two of his photos swapped, one mirrored."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageOps
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.core.config import Settings
from app.main import create_app
from bench.liveness_render import view_of_plane
from models.embedder import FaceEmbedder
from tests.models.conftest import LFW_DIR
from tests.support.helpers import post_file
from tests.support.settings import ADMIN_KEY, count_rows, make_settings

CHECKIN = "/api/v1/checkins"
CHALLENGE = "/api/v1/checkins/challenge"
PERSON = LFW_DIR / "people" / "Colin_Powell"
ENROLLED = "Colin_Powell_0005.jpg"
# His other photos in order of head pose, from facing his right to facing his left (nose
# position 0.34, 0.40, 0.45, 0.57, 0.60, see models/liveness.py): a head turning to his own
# left, each step at most 0.46 of the whole move. (With photo 4, at 0.49, in place of 2, the
# left turn's depth of nose against face contour, models/liveness_shape.py, is 0.106, just
# under MIN_DEPTH: five photos of other days; 110 of the 165 such sets of his pass both ways.)
TURNING_LEFT = [f"Colin_Powell_{n:04d}.jpg" for n in (3, 6, 10, 2, 1)]
KIOSK_MS = [0, 400, 800, 1200, 1600]  # when the kiosk page takes its frames


# One turn a challenge: these tests judge one action's burst (sequences: test_liveness_sequence).
ONE_TURN = {"liveness_steps": 1, "liveness_actions": ["turn_left", "turn_right"]}


@pytest.fixture
def service(tmp_path: Path, database_url: str, embedder: FaceEmbedder) -> Iterator[TestClient]:
    yield from serve_colin(tmp_path, database_url, embedder, **ONE_TURN)


def serve_colin(
    tmp_path: Path, database_url: str, embedder: FaceEmbedder, **settings_of: object
) -> Iterator[TestClient]:
    """The service with liveness on and Colin Powell enrolled from ENROLLED."""
    settings = make_settings(
        tmp_path, database_url=database_url, liveness="challenge", **settings_of
    )
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        created = client.post("/api/v1/students", json={"external_id": "CP", "name": "Colin"})
        assert created.status_code == 201, created.text
        enrolled = post_file(
            client, f"/api/v1/students/{created.json()['id']}/photo", PERSON / ENROLLED
        )
        assert enrolled.status_code == 200, enrolled.text
        yield client


def _burst(
    client: TestClient,
    frames: list[bytes],
    nonce: str | None,
    times: list[int] | None = None,
    key: str | None = None,
) -> dict:
    files = [("file", (f"frame{i}.jpg", data)) for i, data in enumerate(frames)]
    data: dict[str, object] = {"nonce": nonce} if nonce else {}
    if times is not None:
        data["frame_ms"] = [str(t) for t in times]
    headers = {"X-API-Key": key} if key else {}
    response = client.post(CHECKIN, files=files, data=data, headers=headers)
    return {"status": response.status_code, **response.json()}


def _challenge(client: TestClient, key: str | None = None) -> dict:
    response = client.post(CHALLENGE, headers={"X-API-Key": key} if key else {})
    assert response.status_code == 200, response.text
    return response.json()


def _turning(action: str) -> list[bytes]:
    frames = [(PERSON / name).read_bytes() for name in TURNING_LEFT]
    return frames if action == "turn_left" else frames[::-1]


def _held_up_photo(action: str) -> list[bytes]:
    """The enrolled photo, printed and turned in front of the camera like a head."""
    rng = random.Random(7)
    picture = Image.open(PERSON / ENROLLED).convert("RGB")
    sign = 1 if action == "turn_left" else -1
    frames = []
    for yaw in (-5, 5, 15, 25, 35):
        buffer = io.BytesIO()
        view_of_plane(picture, sign * yaw, rng).save(buffer, "JPEG")
        frames.append(buffer.getvalue())
    return frames


def test_a_live_turn_checks_in_once_and_its_nonce_is_spent(service: TestClient) -> None:
    assert service.get("/api/v1/me").json()["liveness"] == "challenge"
    without = _burst(service, [(PERSON / ENROLLED).read_bytes()], None)
    assert without["status"] == 422 and without["error"]["code"] == "challenge_required"

    challenge = _challenge(service)
    assert challenge["action"] in {"turn_left", "turn_right"}
    assert challenge["expires_in"] == 30 and challenge["required"] is True
    answer = _burst(service, _turning(challenge["action"]), challenge["nonce"], KIOSK_MS)
    assert answer["status"] == 200, answer
    [face] = answer["faces"]
    assert face["decision"] == "present" and face["student"]["name"] == "Colin"
    assert answer["liveness"]["verdict"] == "live" and answer["liveness"]["turn"] >= 0.1
    assert answer["liveness"]["largest_step"] < 0.5 and answer["liveness"]["span_ms"] == 1600

    again = _burst(service, _turning(challenge["action"]), challenge["nonce"])
    assert again["status"] == 409 and again["error"]["code"] == "challenge_used"


@pytest.mark.slow
def test_a_photo_held_up_to_the_camera_marks_nobody(service: TestClient, database_url: str) -> None:
    for frames_of in (_held_up_photo, lambda action: [(PERSON / ENROLLED).read_bytes()] * 5):
        challenge = _challenge(service)
        answer = _burst(service, frames_of(challenge["action"]), challenge["nonce"])
        assert answer["status"] == 200, answer
        [face] = answer["faces"]
        assert face["decision"] == "liveness_failed" and face["student"] is None
        assert answer["liveness"]["verdict"] == "no_turn"
    assert count_rows(database_url, "attendance") == 0
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as connection:
        outcomes = connection.execute(text("SELECT outcome FROM checkin_attempts")).scalars()
        assert list(outcomes) == ["liveness_failed", "liveness_failed"]
    engine.dispose()


def test_unknown_and_expired_nonces_are_refused(service: TestClient, database_url: str) -> None:
    frames = _turning("turn_left")[:2]
    unknown = _burst(service, frames, "no-such-nonce")
    assert unknown["status"] == 404 and unknown["error"]["code"] == "challenge_not_found"

    challenge = _challenge(service)
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE liveness_challenges SET expires_at = :past WHERE nonce = :nonce"),
            {
                "past": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
                "nonce": challenge["nonce"],
            },
        )
    engine.dispose()
    expired = _burst(service, frames, challenge["nonce"])
    assert expired["status"] == 410 and expired["error"]["code"] == "challenge_expired"

    one_frame = _burst(service, frames[:1], _challenge(service)["nonce"])
    assert one_frame["status"] == 422 and one_frame["error"]["code"] == "burst_size"


def _swapped(action: str, mirror: bool) -> list[bytes]:
    """Two pictures, two frames of the first and three of the second: Powell facing his right
    and then (a swap) his photo facing his left, or (a mirror) the first photo mirrored."""
    first = Image.open(PERSON / TURNING_LEFT[0]).convert("RGB")
    second = ImageOps.mirror(first) if mirror else Image.open(PERSON / TURNING_LEFT[-1])
    pictures = [first, second] if action == "turn_left" else [second, first]
    frames = []
    for picture in [pictures[0]] * 2 + [pictures[1]] * 3:
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, "JPEG", quality=90)
        frames.append(buffer.getvalue())
    return frames


def test_two_photos_swapped_or_mirrored_turn_but_jump(service: TestClient) -> None:
    for mirror in (False, True):
        challenge = _challenge(service)
        answer = _burst(
            service, _swapped(challenge["action"], mirror), challenge["nonce"], KIOSK_MS
        )
        assert answer["status"] == 200, answer
        assert answer["faces"][0]["decision"] == "liveness_failed"
        assert answer["liveness"]["turn"] >= 0.1  # the first check would have let it through
        assert answer["liveness"]["verdict"] == "jump", answer["liveness"]
        assert answer["liveness"]["largest_step"] > 0.75


def test_a_turn_claimed_in_a_tenth_of_a_second_is_too_short(service: TestClient) -> None:
    challenge = _challenge(service)
    answer = _burst(
        service, _turning(challenge["action"]), challenge["nonce"], [0, 25, 50, 75, 100]
    )
    assert answer["liveness"]["verdict"] == "too_short"
    assert answer["faces"][0]["decision"] == "liveness_failed"


@pytest.mark.slow
def test_a_burst_refused_before_judging_leaves_the_nonce_good(
    service: TestClient, database_url: str
) -> None:
    challenge = _challenge(service)
    turning = _turning(challenge["action"])
    blank = io.BytesIO()
    Image.new("RGB", (250, 250), (128, 128, 128)).save(blank, "JPEG")
    no_face = _burst(service, [*turning[:4], blank.getvalue()], challenge["nonce"], KIOSK_MS)
    assert no_face["status"] == 422 and no_face["error"]["code"] == "no_face"
    too_many = _burst(service, [*turning, *turning], challenge["nonce"])  # 10: the limit's 8
    assert too_many["status"] == 422 and too_many["error"]["code"] == "burst_size"
    assert "ROLLCALL_MAX_BURST_FRAMES" in too_many["error"]["message"]
    times = _burst(service, turning, challenge["nonce"], [0, 400, 800])
    assert times["status"] == 422 and times["error"]["code"] == "frame_times"
    answer = _burst(service, turning, challenge["nonce"], KIOSK_MS)
    assert answer["status"] == 200 and answer["liveness"]["verdict"] == "live", answer
    assert count_rows(database_url, "attendance") == 1


@pytest.mark.slow
def test_a_nonce_answers_only_for_the_key_that_asked(service: TestClient) -> None:
    created = service.post("/api/v1/keys", json={"name": "door 2", "role": "kiosk"})
    assert created.status_code == 201, created.text
    other = created.json()["key"]
    challenge = _challenge(service)  # asked with the admin key
    turning = _turning(challenge["action"])
    stolen = _burst(service, turning, challenge["nonce"], KIOSK_MS, key=other)
    assert stolen["status"] == 404 and stolen["error"]["code"] == "challenge_not_found"
    own = _burst(service, turning, challenge["nonce"], KIOSK_MS)  # not spent by the other
    assert own["status"] == 200 and own["liveness"]["verdict"] == "live", own
    theirs = _challenge(service, key=other)
    answer = _burst(service, _turning(theirs["action"]), theirs["nonce"], KIOSK_MS, key=other)
    assert answer["status"] == 200 and answer["faces"][0]["decision"] == "already_present"


@pytest.mark.slow
def test_without_liveness_a_burst_needs_no_nonce_and_is_one_person(
    settings: Settings, embedder: FaceEmbedder
) -> None:
    one_turn = settings.model_copy(update=ONE_TURN)  # liveness off; a challenge of one turn
    with TestClient(create_app(one_turn, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        frames = _turning("turn_left")
        burst = _burst(client, frames, None)
        assert burst["status"] == 200 and burst["liveness"] is None
        # Powell, seen in every frame, is answered once; a face behind him in one frame apart.
        assert sorted(face["frames"] for face in burst["faces"]) == [1, len(frames)]
        assert _burst(client, frames[:1], None)["status"] == 200
        challenge = _challenge(client)  # a kiosk may still ask for one
        assert challenge["required"] is False
        answer = _burst(client, _turning(challenge["action"]), challenge["nonce"])
        assert answer["liveness"]["verdict"] == "live", answer


def test_challenges_expired_for_an_hour_are_deleted(service: TestClient, database_url: str) -> None:
    old = _challenge(service)["nonce"]
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE liveness_challenges SET expires_at = :past"),
            {"past": dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)},
        )
    _challenge(service)
    with engine.connect() as connection:
        nonces = connection.execute(text("SELECT nonce FROM liveness_challenges")).scalars()
        assert old not in list(nonces)
    engine.dispose()
