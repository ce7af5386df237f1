"""Liveness from a burst of frames: did a real, three-dimensional head turn as asked?

A printed photo or a phone screen is a plane, and every view of a plane is a homography of
every other view. The five MTCNN landmarks give a projective frame for free: the four of them
that lie near one plane (the eye centres and the mouth corners) fix a homography to a unit
square, and the nose tip's position in that square is then a projective invariant of a flat
face: tilting, rotating, scaling or bending the view of a photo in perspective leaves it where
it was (up to landmark noise). The nose tip stands out of that plane on a real head, so when
the head turns it slides across the square: to larger `u` when the person turns to their own
left, seen by an unmirrored camera.

So one number decides: how far the nose moved across the square, in the asked direction, from
the burst's first frames to its last (`turn`). A photo waved in front of the camera, turned
like a head, stays near zero; a head that turned about 20 degrees moves it by about 0.14.

Looking up or down moves the nose along the square's other axis (`v`: 0 the eyes' line, 1 the
mouth's): the eyes-to-mouth height of a face is about its eye-to-eye width, so on a head's
geometry 20 degrees of pitch move `v` about as far as 20 degrees of yaw move `u`, and the same
MIN_TURN decides. That is geometry, not calibration: LFW's poses vary too little in pitch to
measure it on real photos.

What it cannot tell: a video of the person that moves its head when asked (a replay of a
recording), or a 3D mask. `models/liveness_sequence.py` asks for several actions in a random
order, so that one recording, played backwards or mirrored, answers few challenges.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.liveness_motion import Motion, motion
from models.liveness_shape import depth, required_depth

# MTCNN's landmark order: left eye, right eye, nose, left and right mouth corner (image left).
_PLANE_POINTS = (0, 1, 3, 4)
_NOSE = 2
_UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])

# Calibrated by bench/liveness.py (LFW dev-train, seed 13: 300 photo attacks, 578 live bursts;
# figures in the README). The turn of the attacks had a median of 0 and a long tail from
# MTCNN's landmark noise and its bias on a steeply turned picture; that of live bursts (about
# 20 degrees of yaw) a median of 0.15. Accepted attacks / rejected live bursts: 0.06: 9.3% /
# 1.7%; 0.07: 7.0% / 2.8%; 0.08: 4.0% / 6.9%; 0.10: 2.0% / 19%. 0.08: a refused student turns
# again, an accepted photo marks someone present, so the threshold leans against the photo.
MIN_TURN = 0.08


class Action(enum.StrEnum):
    """What the kiosk asks the person to do. Left and right are the person's own."""

    turn_left = "turn_left"
    turn_right = "turn_right"
    look_up = "look_up"
    look_down = "look_down"

    @property
    def axis(self) -> int:
        """0: the nose moves along u (a turn); 1: along v (a nod)."""
        return 0 if self in (Action.turn_left, Action.turn_right) else 1

    @property
    def direction(self) -> int:
        """+1 when the nose should move to larger u (to image right, unmirrored) or larger v
        (towards the mouth: looking down)."""
        return 1 if self in (Action.turn_left, Action.look_down) else -1

    def along(self, position: np.ndarray) -> float:
        """The nose position along this action's axis, signed so that doing it increases it."""
        return self.direction * float(position[self.axis])


def nose_position(landmarks: np.ndarray) -> np.ndarray | None:
    """The nose tip (u, v) in the projective frame of the eyes and mouth corners: (0, 0) the
    image-left eye, (1, 1) the image-right mouth corner. None when the four points are
    degenerate (collinear), as no real face's are."""
    points = np.asarray(landmarks, dtype=np.float64)
    homography = plane_homography(points[list(_PLANE_POINTS)], _UNIT_SQUARE)
    if homography is None:
        return None
    x, y, w = homography @ np.array([points[_NOSE, 0], points[_NOSE, 1], 1.0])
    if abs(w) < 1e-9:
        return None
    return np.array([x / w, y / w])


def plane_homography(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """The plane homography taking 4 source points to 4 target points (direct linear
    transform, h33 = 1)."""
    rows, values = [], []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    matrix = np.array(rows)
    if np.linalg.cond(matrix) > 1e12:
        return None
    return np.append(np.linalg.solve(matrix, np.array(values)), 1.0).reshape(3, 3)


def turn(positions: Sequence[np.ndarray], action: Action) -> float:
    """How far the nose moved in the asked direction: the mean of the burst's last frames
    minus the mean of its first (two of each from 4 frames up). The kiosk takes the first
    frames as it shows the prompt, before the person can react, and the last once they have
    turned and hold. Means, not the largest move between any two frames: landmark noise
    (about 0.02 on a 60 px face) would make the largest of ten moves a turn of its own."""
    signed = np.array([action.along(p) for p in positions])
    ends = max(1, min(2, len(signed) // 2))
    return float(signed[-ends:].mean() - signed[:ends].mean())


def flatness_spread(positions: Sequence[np.ndarray]) -> float:
    """The widest spread of the nose position over the burst, any direction: near 0 for any
    motion of a flat picture."""
    stacked = np.stack(positions)
    return float(np.linalg.norm(stacked.max(axis=0) - stacked.min(axis=0)))


class Verdict(enum.StrEnum):
    live = "live"
    no_turn = "no_turn"  # flat, or did not turn as asked
    not_same_person = "not_same_person"
    unreadable = "unreadable"  # a frame's landmarks give no frame of reference
    # The motion's flaws (models/liveness_motion.py): the nose got there, but not as a head does.
    too_short = "too_short"
    jump = "jump"
    reversed = "reversed"
    too_fast = "too_fast"
    # The nose did not move out of each half of the face against the face's contour: a print
    # creased down the nose (models/liveness_shape.py `depth`).
    flat_halves = "flat_halves"


@dataclass(frozen=True)
class LivenessResult:
    verdict: Verdict
    turn: float  # see `turn`
    spread: float  # see `flatness_spread`
    max_distance: float  # the largest embedding distance from the first frame
    motion: Motion | None = None  # None when unreadable
    depth: float | None = None  # models/liveness_shape.depth; None: not measured

    @property
    def live(self) -> bool:
        return self.verdict is Verdict.live


def assess(
    landmarks: Sequence[np.ndarray],
    distances_to_first: Sequence[float],
    action: Action,
    same_person_threshold: float,
    min_turn: float = MIN_TURN,
    times_ms: Sequence[float] | None = None,
    shapes: Sequence[np.ndarray] | None = None,
) -> LivenessResult:
    """The verdict on a burst, frames in capture order: one landmark set per frame, the
    embedding distance of each frame's face to the first frame's and, when the page sent them,
    each frame's capture time; `shapes`, each frame's 68 landmarks (models/face_shape.py), for
    the creased-print test of a turn (None: not tested)."""
    max_distance = max(distances_to_first, default=0.0)
    positions = [nose_position(marks) for marks in landmarks]
    if len(positions) < 2 or any(p is None for p in positions):
        return LivenessResult(Verdict.unreadable, 0.0, 0.0, max_distance)
    known = [p for p in positions if p is not None]
    moved, spread = turn(known, action), flatness_spread(known)
    along = [action.along(p) for p in known]
    moving = motion(along, times_ms)
    out_of_halves = (
        depth(shapes, along, action.direction) if shapes is not None and action.axis == 0 else None
    )
    if max_distance >= same_person_threshold:
        verdict = Verdict.not_same_person
    elif moved < min_turn:
        verdict = Verdict.no_turn
    elif moving.flaw is not None:
        verdict = Verdict(moving.flaw.value)
    elif out_of_halves is not None and not out_of_halves >= required_depth(moved):  # NaN too
        verdict = Verdict.flat_halves
    else:
        verdict = Verdict.live
    return LivenessResult(verdict, moved, spread, max_distance, moving, out_of_halves)
