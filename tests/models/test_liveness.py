"""The flatness cue of models/liveness.py: geometry first, then generated cases of real photos."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bench.liveness import passes
from bench.liveness_cases import attack_cases, live_cases, posed_people
from models.detection import FaceDetector
from models.liveness import MIN_TURN, Action, Verdict, assess, nose_position, turn
from tests.models.conftest import LFW_DIR

# A head in centimetres, camera at the origin looking along +z, image y down. Eyes and mouth
# corners near one plane; the nose tip 2.5 cm before it, towards the camera.
HEAD = np.array(
    [[-3.2, -3.0, 0.0], [3.2, -3.0, 0.0], [0.0, 0.8, -2.5], [-2.5, 3.5, 0.3], [2.5, 3.5, 0.3]]
)


def _seen(head: np.ndarray, degrees_to_own_left: float, distance: float = 60.0) -> np.ndarray:
    """Landmarks of the head turned to its own left (the camera's right), projected."""
    angle = np.radians(degrees_to_own_left)
    x = head[:, 0] * np.cos(angle) - head[:, 2] * np.sin(angle)
    z = head[:, 0] * np.sin(angle) + head[:, 2] * np.cos(angle) + distance
    return 800 * np.stack([x / z, head[:, 1] / z], axis=1) + 320


def _plane_homography(rng: np.random.Generator) -> np.ndarray:
    matrix = np.eye(3) + rng.normal(0, 0.2, (3, 3))
    matrix[2, :2] = rng.normal(0, 0.001, 2)  # perspective, as a tilted photo's
    return matrix


def test_the_nose_of_a_flat_face_stays_put_under_any_plane_homography() -> None:
    rng = np.random.default_rng(0)
    landmarks = _seen(HEAD, 10)
    before = nose_position(landmarks)
    for _ in range(50):
        homography = _plane_homography(rng)
        points = np.c_[landmarks, np.ones(5)] @ homography.T
        moved = nose_position(points[:, :2] / points[:, 2:])
        assert moved is not None and before is not None
        np.testing.assert_allclose(moved, before, atol=1e-6)


def test_a_head_turning_to_its_own_left_moves_the_nose_to_larger_u() -> None:
    views = [_seen(HEAD, degrees) for degrees in (0, 5, 10, 15, 20)]
    positions = [nose_position(v) for v in views]
    u = [float(p[0]) for p in positions if p is not None]
    assert u == sorted(u) and abs(u[0] - 0.5) < 1e-6
    assert u[-1] - u[0] > 0.15  # 20 degrees: the nose crosses 0.18 of the eye-mouth square
    assert turn(positions, Action.turn_left) > MIN_TURN  # 0-5 degrees, then 15-20
    assert turn(positions, Action.turn_right) < 0  # the other way
    assert turn(positions[::-1], Action.turn_right) > MIN_TURN


def test_turn_compares_the_bursts_last_frames_with_its_first() -> None:
    positions = [np.array([u, 0.5]) for u in (0.6, 0.5, 0.9, 0.45, 0.5)]
    assert turn(positions, Action.turn_left) == pytest.approx(-0.075)  # the middle is ignored
    assert turn(positions, Action.turn_right) == pytest.approx(0.075)
    assert turn(positions[:2], Action.turn_left) == pytest.approx(-0.1)


def test_assess_names_why_a_burst_is_not_live() -> None:
    turning = [_seen(HEAD, degrees) for degrees in (0, 5, 10, 15, 20)]
    close = [0.0, 0.1, 0.2, 0.2, 0.3]
    live = assess(turning, close, Action.turn_left, same_person_threshold=0.6)
    assert live.verdict is Verdict.live and live.live
    assert assess(turning, [*close[:4], 0.7], Action.turn_left, 0.6).verdict is (
        Verdict.not_same_person
    )
    assert assess(turning, close, Action.turn_right, 0.6).verdict is Verdict.no_turn
    # Three frames cannot show a turn in progress between its ends.
    assert assess(turning[::2], close[:3], Action.turn_left, 0.6).verdict is Verdict.too_short
    still = [turning[0]] * 3
    assert assess(still, [0.0] * 3, Action.turn_left, 0.6).verdict is Verdict.no_turn
    collapsed = np.zeros((5, 2))
    assert assess([collapsed, collapsed], [0.0, 0.0], Action.turn_left, 0.6).verdict is (
        Verdict.unreadable
    )


@pytest.mark.slow
def test_generated_attacks_and_live_turns_at_the_benchmarked_rates(
    detector: FaceDetector,
) -> None:
    """A smaller run of bench/liveness.py, another seed than the README's: live turns of LFW
    photos at the kiosk's times, pictures turned like a head, mirrored and swapped. The
    README's run refused 13.2% of 190 live turns (as jumps: a person's photos give few poses
    between a turn's ends, where a video has every one) and let through 0 of 30 mirrors and 1
    of 30 swaps; this run refused 4 of 30 live turns and let no attack through. The bounds
    leave room for a small sample's spread."""
    rng = random.Random(2026)
    people = posed_people(detector, LFW_DIR, 16, rng)
    live = live_cases(people, rng)
    assert len(live) >= 12
    rejected = sum(not passes(c) for c in live) / len(live)
    assert rejected <= 0.30, rejected
    for kind, count, bound in (("print", 6, 0.2), ("mirror", 5, 0.0), ("swap", 5, 0.0)):
        cases = attack_cases(detector, LFW_DIR, people, kind, count, rng)
        accepted = sum(passes(c) for c in cases) / len(cases)
        assert accepted <= bound, (kind, accepted)
