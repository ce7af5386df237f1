"""Motion, not two poses: did the head move through the turn, or jump between two pictures?

`models/liveness.py` measures each frame's pose by the nose tip's position `u` in the
projective frame of the eyes and mouth corners. A head turning as asked moves `u` steadily in
the asked direction while the kiosk films it; two photos swapped in front of the camera (or one
photo and its mirror image, one tap on a phone) show two poses and nothing between them, so
the whole turn happens between two consecutive frames. So, frames in capture order:

* the burst must be long enough to see a turn in progress: at least MIN_FRAMES frames over at
  least MIN_SPAN_MS of capture time (the page sends each frame's capture time);
* no single step between consecutive frames may carry more than MAX_STEP_SHARE of the turn
  (a swap or a mirror carries all of it) unless the rest of the move, the other steps
  together, is itself more than landmark noise (MIN_REST): a head that turns fast between two
  frames still moved before or after them, a swapped picture did not;
* no step may go back against the asked direction by more than the landmarks' noise allows
  (a recording played back and forth, a photo flipped twice);
* no step may be faster than a head turns (MAX_SPEED), which only a burst whose capture times
  are made up can show.

What it cannot tell: a video of the person turning, replayed on a screen, moves as a head does.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The kiosk films 8 frames 200 ms apart (app/api/pages/static/js/kiosk.js): one before a person
# reacts, then the turn. Fewer than 4 cannot show a turn between its ends; 600 ms is 3 of the
# kiosk's intervals: no turn that a person starts after reacting is seen in less.
MIN_FRAMES = 4
MIN_SPAN_MS = 600
# A swap is one step of the whole turn: its share is 1 give or take the landmarks' noise. A
# head's turn (0.4-1 s, bell-shaped speed) filmed every 200 ms spreads over two intervals or
# more. Simulated (bench/liveness.py: turns of 0.12-0.25 of u, noise 0.01 a frame), 0.75
# refuses 4.8% of turns and lets 0.5% of swaps through; with MTCNN's noise on a 60 px face
# (0.02), 19% and 7.5%.
MAX_STEP_SHARE = 0.75
# The move outside the largest step, in u, that shows a turn in progress however large that
# step: twice the noise of a still face's nose (0.02). Chosen on half 0 of LFW dev-train's
# people (bench/liveness.py, seeds 13 and 29): of 46 live turns refused as jumps (of 236),
# 30 moved at least 0.04 outside their largest step, of 25 swaps and 22 mirrors refused so,
# 1 each (0.078 and 0.047); at 0.05, 26 live turns and 1 swap.
MIN_REST = 0.04
# A step back of more than this (u, or this share of the turn if larger) is a reversal, not
# noise: MTCNN's nose position varies by about 0.02 between frames of a still face.
MAX_BACK = 0.04
MAX_BACK_SHARE = 0.35
# u per second. A head turns at most about 300 degrees a second, and 20 degrees move u by about
# 0.14: 2.1 per second; 3 leaves room for landmark noise over short intervals.
MAX_SPEED = 3.0


class Flaw(enum.StrEnum):
    too_short = "too_short"  # too few frames, or too little time, to see a turn
    jump = "jump"  # the turn happened in one step: two pictures swapped, or mirrored
    reversed = "reversed"  # moved back against the asked direction
    too_fast = "too_fast"  # faster than a head turns: the capture times are not real


@dataclass(frozen=True)
class Motion:
    steps: tuple[float, ...]  # each frame's move in the asked direction from the one before
    span_ms: float | None  # first to last capture time; None: the page sent none
    largest_share: float  # the largest step over the whole move, first frame to last
    rest: float  # the whole move less its largest step
    largest_back: float  # the largest step against the asked direction (0: none)
    top_speed: float | None  # the fastest step, u per second
    flaw: Flaw | None


def motion(signed: Sequence[float], times_ms: Sequence[float] | None) -> Motion:
    """The motion of a burst: `signed`, each frame's nose position times the asked
    direction (+1 or -1), in capture order; `times_ms`, each frame's capture time."""
    values = np.asarray(signed, dtype=np.float64)
    steps = np.diff(values)
    whole = float(values[-1] - values[0])
    largest_share = float(steps.max() / whole) if whole > 0 and len(steps) else float("inf")
    rest = float(whole - steps.max()) if len(steps) else 0.0
    largest_back = float(max(0.0, -steps.min())) if len(steps) else 0.0
    span = top_speed = None
    if times_ms is not None:
        times = np.asarray(times_ms, dtype=np.float64)
        gaps = np.diff(times)
        span = float(times[-1] - times[0])
        top_speed = (
            float(np.max(np.abs(steps) / np.maximum(gaps, 1.0) * 1000)) if len(gaps) else 0.0
        )
    flaw = None
    if len(values) < MIN_FRAMES or (span is not None and span < MIN_SPAN_MS):
        flaw = Flaw.too_short
    elif top_speed is not None and top_speed > MAX_SPEED:
        flaw = Flaw.too_fast
    elif largest_back > max(MAX_BACK, MAX_BACK_SHARE * max(whole, 0.0)):
        flaw = Flaw.reversed
    elif largest_share > MAX_STEP_SHARE and rest < MIN_REST:
        flaw = Flaw.jump
    return Motion(
        tuple(float(s) for s in steps), span, largest_share, rest, largest_back, top_speed, flaw
    )
