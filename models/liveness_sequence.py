"""Challenges of several actions in a random order, and the verdict on a burst that answers one.

One action is one bit an attacker can prepare for: a recording of the person turning to their
left answers "turn left", the same recording played backwards or mirrored (one tap on a phone)
answers "turn right". A sequence of two or three actions (turn left or right, look up or down)
drawn at random is answered by one recording only if the sequence happens to be the recording's
own, its reverse (each action undone, last first), its mirror (left and right swapped) or its
mirrored reverse: at most 4 of the 12 sequences of two actions, of the 36 of three (no action
twice in a row: "turn left" once turned left asks the impossible).

The kiosk films each action's frames after showing its prompt, the actions in order, the same
number of frames for each: action k's frames are the burst's k-th equal part. Each part is
judged as one action's burst (`models/liveness.assess`), beginning at the last frame of the
part before, so that a swap between two parts, where the person should hold still, is a jump
of the next action's motion.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.liveness import Action, LivenessResult, Verdict, assess
from models.liveness_motion import MIN_FRAMES

MIRRORED = {
    Action.turn_left: Action.turn_right,
    Action.turn_right: Action.turn_left,
    Action.look_up: Action.look_up,
    Action.look_down: Action.look_down,
}
UNDONE = {
    Action.turn_left: Action.turn_right,
    Action.turn_right: Action.turn_left,
    Action.look_up: Action.look_down,
    Action.look_down: Action.look_up,
}
MAX_ACTIONS = 3


def random_sequence(
    count: int, offered: Sequence[Action], chooser: random.Random
) -> tuple[Action, ...]:
    """`count` actions from `offered`, never one twice in a row. `chooser`: the service passes
    `random.SystemRandom()`, so that the order cannot be predicted from earlier challenges."""
    actions: list[Action] = []
    for _ in range(count):
        allowed = [a for a in offered if not actions or a is not actions[-1]]
        actions.append(chooser.choice(allowed or list(offered)))
    return tuple(actions)


def answered_by_one_recording(actions: Sequence[Action]) -> set[tuple[Action, ...]]:
    """The sequences a recording of `actions` answers as it is, backwards, mirrored or both."""
    reverse = tuple(UNDONE[a] for a in reversed(actions))
    return {
        tuple(actions),
        reverse,
        tuple(MIRRORED[a] for a in actions),
        tuple(MIRRORED[a] for a in reverse),
    }


@dataclass(frozen=True)
class SequenceResult:
    verdict: Verdict  # live when every action's part is; else the first refused part's
    steps: tuple[LivenessResult, ...]  # one per action judged, up to the first refused
    failed_step: int | None  # the index of the refused action; None when live

    @property
    def live(self) -> bool:
        return self.verdict is Verdict.live

    @property
    def shown(self) -> LivenessResult:
        """The refused action's result, or (live) the one that moved least."""
        if self.failed_step is not None:
            return self.steps[self.failed_step]
        return min(self.steps, key=lambda step: step.turn)


def parts_of(frames: int, actions: int) -> list[range] | None:
    """Each action's frame indices, each part led by the previous part's last frame; None when
    the burst does not split into equal parts of at least MIN_FRAMES."""
    if actions < 1 or frames % actions or frames // actions < MIN_FRAMES:
        return None
    size = frames // actions
    return [range(max(0, k * size - 1), (k + 1) * size) for k in range(actions)]


def shaped_frames(frames: int, actions: Sequence[Action]) -> set[int]:
    """The frames whose 68 landmarks the judgement reads: those of the turns' parts (the
    creased-print test, `models/liveness_shape.py`, is a turn's; a nod is judged on MTCNN's 5
    points alone). Empty for a nod-only burst, or one that does not split into parts."""
    parts = parts_of(frames, len(actions)) or []
    return {
        i for action, part in zip(actions, parts, strict=False) if action.axis == 0 for i in part
    }


def _part_shapes(
    shapes: Sequence[np.ndarray | None] | None, part: range, action: Action
) -> list[np.ndarray] | None:
    if shapes is None or action.axis != 0:
        return None
    chosen = [shapes[i] for i in part]
    known = [shape for shape in chosen if shape is not None]
    if len(known) != len(chosen):
        raise ValueError("a turn's frame has no 68 landmarks (see shaped_frames)")
    return known


def assess_sequence(
    landmarks: Sequence[np.ndarray],
    distances: Sequence[float],
    actions: Sequence[Action],
    same_person_threshold: float,
    times_ms: Sequence[float] | None = None,
    shapes: Sequence[np.ndarray | None] | None = None,
) -> SequenceResult:
    """The verdict on a burst answering `actions` in order; `distances`: each frame's embedding
    distance to the person (see `assess`); `shapes`, each frame's 68 landmarks (needed only for
    the frames of `shaped_frames`, None elsewhere). A burst that does not split into the
    actions' parts is `unreadable` (the service refuses such a burst before judging it)."""
    parts = parts_of(len(landmarks), len(actions))
    if parts is None:
        empty = LivenessResult(Verdict.unreadable, 0.0, 0.0, max(distances, default=0.0))
        return SequenceResult(Verdict.unreadable, (empty,), 0)
    steps: list[LivenessResult] = []
    for index, (action, part) in enumerate(zip(actions, parts, strict=True)):
        result = assess(
            [landmarks[i] for i in part],
            [distances[i] for i in part],
            action,
            same_person_threshold,
            times_ms=None if times_ms is None else [times_ms[i] for i in part],
            shapes=_part_shapes(shapes, part, action),
        )
        steps.append(result)
        if not result.live:
            return SequenceResult(result.verdict, tuple(steps), index)
    return SequenceResult(Verdict.live, tuple(steps), None)
