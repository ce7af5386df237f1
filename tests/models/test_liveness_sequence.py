"""Challenges of several actions (models/liveness_sequence.py), on the geometry of a head:
random orders, what one recording answers, and a burst judged action by action."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from models.liveness import MIN_TURN, Action, Verdict, nose_position
from models.liveness_sequence import (
    answered_by_one_recording,
    assess_sequence,
    parts_of,
    random_sequence,
    shaped_frames,
)
from tests.models.test_liveness import HEAD

STEP_MS = [0, 200, 400, 600, 800, 1000, 1200, 1400]
# Still for the reaction, then the move in about 0.6 s, then held: degrees along the move.
MOVE = [0, 0, 2, 8, 15, 19, 20, 20]


def _seen(yaw: float, pitch: float, distance: float = 60.0) -> np.ndarray:
    """Landmarks of HEAD turned `yaw` degrees to its own left and `pitch` up, projected."""
    a, b = np.radians(yaw), np.radians(pitch)
    x, y, z = HEAD[:, 0], HEAD[:, 1], HEAD[:, 2]
    # Looking up: the nose (in front, -z) rises (image y down: smaller y).
    y, z = y * np.cos(b) + z * np.sin(b), -y * np.sin(b) + z * np.cos(b)
    x, z = x * np.cos(a) - z * np.sin(a), x * np.sin(a) + z * np.cos(a)
    z = z + distance
    return 800 * np.stack([x / z, y / z], axis=1) + 320


AIM = {
    Action.turn_left: (1, 0),
    Action.turn_right: (-1, 0),
    Action.look_up: (0, 1),
    Action.look_down: (0, -1),
}


def _answer(actions: list[Action]) -> tuple[list[np.ndarray], list[float]]:
    """A head doing `actions` in order, each from where the last one left it."""
    frames, times = [], []
    yaw = pitch = 0.0
    for index, action in enumerate(actions):
        dy, dp = AIM[action]
        for degrees, at in zip(MOVE, STEP_MS, strict=True):
            frames.append(_seen(yaw + dy * degrees, pitch + dp * degrees))
            times.append(index * 1800 + at)
        yaw, pitch = yaw + dy * 20, pitch + dp * 20
    return frames, times


def test_looking_up_and_down_move_the_nose_along_v_as_far_as_a_turn_along_u() -> None:
    front = nose_position(_seen(0, 0))
    up, left = nose_position(_seen(0, 20)), nose_position(_seen(20, 0))
    assert front is not None and up is not None and left is not None
    assert Action.look_up.along(up) - Action.look_up.along(front) > MIN_TURN
    assert Action.turn_left.along(left) - Action.turn_left.along(front) > MIN_TURN
    assert abs(float(up[0] - front[0])) < 0.01  # a nod does not read as a turn


def test_random_sequences_never_repeat_an_action_and_use_every_one() -> None:
    chooser = random.Random(3)
    drawn = [random_sequence(3, list(Action), chooser) for _ in range(400)]
    assert all(a is not b for s in drawn for a, b in itertools.pairwise(s))
    assert len(set(drawn)) == 36  # every sequence of 3 without a repeat comes up


def test_one_recording_answers_at_most_four_sequences_of_the_twelve() -> None:
    twelve = {s for s in itertools.product(Action, repeat=2) if s[0] is not s[1]}
    assert len(twelve) == 12
    for sequence in twelve:
        answered = answered_by_one_recording(sequence)
        assert sequence in answered and len(answered & twelve) <= 4
    left_up = answered_by_one_recording((Action.turn_left, Action.look_up))
    assert (Action.turn_right, Action.look_up) in left_up  # mirrored
    assert (Action.look_down, Action.turn_right) in left_up  # backwards


def test_a_head_doing_the_sequence_is_live_and_any_other_order_is_refused() -> None:
    asked = [Action.turn_left, Action.look_up, Action.turn_right]
    frames, times = _answer(asked)
    result = assess_sequence(frames, [0.0] * len(frames), asked, 0.6, times)
    assert result.live and result.failed_step is None and len(result.steps) == 3
    for other in ([Action.look_up, Action.turn_left, Action.turn_right], asked[::-1]):
        refused = assess_sequence(frames, [0.0] * len(frames), other, 0.6, times)
        assert refused.verdict is Verdict.no_turn and refused.failed_step == 0


def test_the_recording_played_backwards_or_mirrored_answers_other_sequences() -> None:
    asked = [Action.turn_left, Action.look_down]
    frames, times = _answer(asked)
    backwards = frames[::-1]
    mirrored = [f[[1, 0, 2, 4, 3]] * np.array([-1, 1]) + np.array([640, 0]) for f in frames]
    for shown in (backwards, mirrored):
        result = assess_sequence(shown, [0.0] * len(shown), asked, 0.6, times)
        assert not result.live


def test_a_swap_between_two_actions_is_a_jump_of_the_next() -> None:
    asked = [Action.turn_left, Action.turn_right]
    frames, times = _answer(asked)
    # The second part shows another picture from its first frame, already at its end pose.
    frames[8:] = [frames[-1]] * 8
    result = assess_sequence(frames, [0.0] * len(frames), asked, 0.6, times)
    assert result.verdict is Verdict.jump and result.failed_step == 1


def test_a_frame_of_someone_else_refuses_the_sequence() -> None:
    asked = [Action.look_down, Action.turn_left]
    frames, times = _answer(asked)
    distances = [0.3] * len(frames)
    distances[11] = float("inf")  # a frame nearer another enrolled student
    result = assess_sequence(frames, distances, asked, 0.6, times)
    assert result.verdict is Verdict.not_same_person and result.failed_step == 1


def test_a_burst_splits_into_equal_parts_each_led_by_the_last_frame_before() -> None:
    assert parts_of(16, 2) == [range(0, 8), range(7, 16)]
    assert parts_of(8, 1) == [range(0, 8)]
    assert parts_of(15, 2) is None and parts_of(6, 2) is None  # unequal; under 4 a part


def test_only_the_turns_frames_need_the_68_landmarks() -> None:
    """The creased-print test is a turn's: a nod-only burst reads no 68 landmarks, a mixed one
    only its turns' parts (each led by the frame before it)."""
    nods = [Action.look_up, Action.look_down]
    assert shaped_frames(16, nods) == set()
    assert shaped_frames(16, [Action.turn_left, Action.look_up]) == set(range(0, 8))
    assert shaped_frames(16, [Action.look_up, Action.turn_left]) == set(range(7, 16))
    assert shaped_frames(15, nods) == set()  # does not split: nothing is judged
    frames, times = _answer(nods)
    judged = assess_sequence(frames, [0.0] * 16, nods, 1.0, times, shapes=[None] * 16)
    assert judged.verdict is Verdict.live


def test_a_turn_without_its_68_landmarks_is_an_error_not_a_pass() -> None:
    frames, times = _answer([Action.look_up, Action.turn_left])
    with pytest.raises(ValueError, match="68 landmarks"):
        assess_sequence(
            frames, [0.0] * 16, [Action.look_up, Action.turn_left], 1.0, times, [None] * 16
        )
