"""The motion check of models/liveness_motion.py: a head moving through the turn against two
poses swapped, a reversal, a burst too short or too fast, on the geometry of a head."""

from __future__ import annotations

import numpy as np

from models.liveness import Action, Verdict, assess
from models.liveness_motion import MAX_STEP_SHARE, MIN_REST, Flaw, motion
from tests.models.test_liveness import HEAD, _seen

KIOSK_MS = [0, 200, 400, 600, 800, 1000, 1200, 1400]


def _turn(degrees: list[float]) -> list[np.ndarray]:
    return [_seen(HEAD, d) for d in degrees]


def test_a_head_turning_through_the_burst_is_live() -> None:
    # Still for the reaction, then 20 degrees in about 0.6 s, then held.
    turning = _turn([0, 0, 2, 8, 15, 19, 20, 20])
    result = assess(turning, [0.0] * 8, Action.turn_left, 0.6, times_ms=KIOSK_MS)
    assert result.verdict is Verdict.live, result
    assert result.motion is not None and result.motion.largest_share < 0.5
    assert result.motion.span_ms == 1400


def test_two_poses_swapped_jump() -> None:
    swapped = _turn([0, 0, 0, 0, 20, 20, 20, 20])
    result = assess(swapped, [0.0] * 8, Action.turn_left, 0.6, times_ms=KIOSK_MS)
    assert result.verdict is Verdict.jump
    assert result.motion is not None and result.motion.largest_share > MAX_STEP_SHARE
    # Without capture times (an older page) the jump is still one step of the whole turn.
    assert assess(swapped, [0.0] * 8, Action.turn_left, 0.6).verdict is Verdict.jump


def test_a_mirrored_photo_jumps_to_the_other_side() -> None:
    photo = _seen(HEAD, -10)
    mirrored = photo.copy()
    mirrored[:, 0] = 640 - mirrored[:, 0]
    # Image left stays image left in the landmark order: the eyes and mouth corners swap.
    mirrored = mirrored[[1, 0, 2, 4, 3]]
    frames = [photo] * 3 + [mirrored] * 5
    result = assess(frames, [0.0] * 8, Action.turn_left, 0.6, times_ms=KIOSK_MS)
    assert result.turn > 0.1 and result.verdict is Verdict.jump


def test_back_and_forth_is_a_reversal() -> None:
    frames = _turn([0, 10, 20, 25, 10, 15, 22, 25])
    assert assess(frames, [0.0] * 8, Action.turn_left, 0.6).verdict is Verdict.reversed


def test_made_up_capture_times() -> None:
    signed = [0.0, 0.0, 0.04, 0.08, 0.12, 0.15, 0.15, 0.15]
    assert motion(signed, KIOSK_MS).flaw is None
    assert motion(signed, [0, 50, 100, 150, 200, 250, 300, 350]).flaw is Flaw.too_short
    assert motion(signed, [0, 10, 20, 30, 600, 610, 620, 630]).flaw is Flaw.too_fast
    assert motion(signed[:3], [0, 400, 800]).flaw is Flaw.too_short


def test_a_big_step_is_no_jump_when_the_rest_of_the_move_is_more_than_noise() -> None:
    # A fast turn: most of it between two frames, but the head moved before and after them.
    fast = [0.0, 0.0, 0.02, 0.27, 0.30, 0.31, 0.31, 0.31]
    moved = motion(fast, KIOSK_MS)
    assert moved.largest_share > MAX_STEP_SHARE and moved.rest >= MIN_REST
    assert moved.flaw is None
    # A swap: the same step, and nothing but noise outside it.
    swapped = [0.0, 0.01, -0.01, 0.22, 0.23, 0.22, 0.23, 0.23]
    jumped = motion(swapped, KIOSK_MS)
    assert jumped.rest < MIN_REST and jumped.flaw is Flaw.jump
