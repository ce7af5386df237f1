"""Challenges of several actions and the limit on refused bursts, end to end on each database,
with Colin Powell's real LFW photos at several poses as his head turning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.context import ServiceContext
from app.services.liveness import read_burst
from models.embedder import FaceEmbedder
from models.liveness import Action
from tests.app.services.test_liveness import (
    ENROLLED,
    PERSON,
    _burst,
    _challenge,
    _turning,
    serve_colin,
)
from tests.support.settings import count_rows

TURNS = ["turn_left", "turn_right"]
STEP_MS = [0, 400, 800, 1200, 1600]


@pytest.fixture
def service(tmp_path: Path, database_url: str, embedder: FaceEmbedder) -> Iterator[TestClient]:
    yield from serve_colin(
        tmp_path, database_url, embedder, liveness_actions=TURNS, liveness_max_attempts=2
    )


def _answer(actions: list[str]) -> tuple[list[bytes], list[int]]:
    """His turns, one after another in this order, each filmed after its prompt."""
    frames = [frame for action in actions for frame in _turning(action)]
    times = [index * 2000 + at for index in range(len(actions)) for at in STEP_MS]
    return frames, times


def test_a_sequence_answered_in_order_checks_in_and_in_another_order_does_not(
    service: TestClient,
) -> None:
    challenge = _challenge(service)
    actions = challenge["actions"]
    assert len(actions) == 2 and actions[0] != actions[1] and set(actions) == set(TURNS)
    assert challenge["action"] == actions[0]  # older pages read `action`

    frames, times = _answer(actions[::-1])  # his recording of the other order
    refused = _burst(service, frames, challenge["nonce"], times)
    assert refused["status"] == 200, refused
    assert refused["faces"][0]["decision"] == "liveness_failed"
    assert refused["liveness"]["actions"] == actions
    assert refused["liveness"]["verdict"] == "no_turn" and refused["liveness"]["step"] == 0

    # Answered left then right: right then left, his five LFW photos' second part (led by
    # the first part's last frame) moves the nose out of each half of his face by 0.024 eye
    # distances, under MIN_PARALLAX (models/liveness_shape.py): a genuine refusal of a turn made
    # of photos of other days, counted in docs/liveness.md's figures.
    challenge = _challenge(service)
    for _ in range(40):  # each challenge is that order with odds 1 in 2
        if challenge["actions"] == TURNS:
            break
        challenge = _challenge(service)
    frames, times = _answer(challenge["actions"])
    answer = _burst(service, frames, challenge["nonce"], times)
    assert answer["status"] == 200, answer
    [face] = answer["faces"]
    assert face["decision"] == "present" and face["student"]["name"] == "Colin"
    assert answer["liveness"]["verdict"] == "live" and answer["liveness"]["step"] is None


def test_a_burst_of_one_action_for_two_is_refused_and_keeps_the_nonce(
    service: TestClient,
) -> None:
    challenge = _challenge(service)
    single = _burst(service, _turning(challenge["action"]), challenge["nonce"], STEP_MS)
    assert single["status"] == 422 and single["error"]["code"] == "burst_size"
    assert single["error"]["details"]["actions"] == 2
    frames, times = _answer(challenge["actions"])
    assert _burst(service, frames, challenge["nonce"], times)["status"] == 200


def test_refused_bursts_of_one_student_are_limited(service: TestClient, database_url: str) -> None:
    still = [(PERSON / ENROLLED).read_bytes()] * 10  # his enrolled photo held still
    for _ in range(2):
        refused = _burst(service, still, _challenge(service)["nonce"], _answer(TURNS)[1])
        assert refused["faces"][0]["decision"] == "liveness_failed", refused
    challenge = _challenge(service)
    limited = _burst(service, still, challenge["nonce"], _answer(TURNS)[1])
    assert limited["status"] == 429 and limited["error"]["code"] == "too_many_attempts"
    # Even a live answer now: the door's staff decide (a correction), not another try.
    frames, times = _answer(challenge["actions"])
    assert _burst(service, frames, challenge["nonce"], times)["status"] == 429
    assert count_rows(database_url, "attendance") == 0
    assert count_rows(database_url, "checkin_attempts") == 2


def test_only_a_turn_s_frames_read_the_68_landmarks(service: TestClient) -> None:
    """The creased-print test is a turn's: a burst of nods reads no 68 landmarks, a turn then
    a nod only the turn's frames, the frame the nod's part starts from included."""
    context: ServiceContext = service.app.state.context  # type: ignore[attr-defined]
    frames, times = _answer(TURNS)
    nods = read_burst(context, frames, times, [Action.look_up, Action.look_down])
    assert len(nods.faces) == len(frames) and all(shape is None for shape in nods.shapes)
    mixed = read_burst(context, frames, times, [Action.turn_left, Action.look_up])
    half = len(frames) // 2
    assert [shape is not None for shape in mixed.shapes] == [True] * half + [False] * half
    assert all(shape.shape == (68, 2) for shape in mixed.shapes[:half] if shape is not None)
