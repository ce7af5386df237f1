"""Liveness on generated cases: how many attacks pass, how many real turns are refused, by the
first check (the nose's turn between the burst's ends), by the previous one (the turn, its
motion through every frame, models/liveness_motion.py, and the nose out of each half's plane)
and by the current one (the creased-print test on the nose's and the face contour's depth,
models/liveness_shape.py `depth`), in the same run; and for a challenge of two actions
(models/liveness_sequence.py), estimated from pairs of cases.

    python bench/liveness.py [--lfw ../shared/lfw-devtrain] [--people 120] [--attacks 25]

The cases are described in bench/liveness_cases.py (live turns made of LFW photos at the
kiosk's capture times; printed, phone, bent, folded, mirrored and swapped pictures, rendered
by bench/liveness_render.py). A live burst is one person by construction and an attack one
photo (or two of one person), so the same-person check passes both: it is left out here.
"""

from __future__ import annotations

import argparse
import itertools
import math
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.liveness_cases import (
    ATTACKS,
    KIOSK_MS,
    Case,
    affine_yaw,
    attack_cases,
    face_shape,
    live_cases,
    minimum_jerk,
    posed_people,
)
from models.detection import FaceDetector
from models.image import Photo
from models.liveness import MIN_TURN, Verdict, assess, nose_position, turn
from models.liveness_motion import motion
from models.liveness_shape import MIN_PARALLAX, depth, parallax

SHARED = Path(__file__).resolve().parents[2] / "shared"


def case_turn(case: Case) -> float:
    """The burst's turn (models.liveness.turn); -inf when a frame has no face or no frame of
    reference, which the service refuses."""
    positions = [None if f is None else nose_position(f) for f in case.frames]
    known = [p for p in positions if p is not None]
    return turn(known, case.action) if len(known) == len(positions) else float("-inf")


def passed_before(case: Case) -> bool:
    """The first check: the turn between the burst's ends only."""
    return case_turn(case) >= MIN_TURN


def verdict(case: Case) -> Verdict:
    """models.liveness.assess on the case, its capture times and 68 landmarks included."""
    if any(f is None for f in case.frames) or any(s is None for s in case.shapes):
        return Verdict.unreadable
    marks = [f for f in case.frames if f is not None]
    shapes = [s for s in case.shapes if s is not None] or None
    return assess(
        marks, [0.0] * len(marks), case.action, 1.0, times_ms=case.times_ms, shapes=shapes
    ).verdict


def previous_verdict(case: Case) -> Verdict:
    """The check as shipped before the face contour's depth: the turn, its motion, then the
    nose's move out of each half's plane between the burst's ends (`parallax`, MIN_PARALLAX)."""
    if any(f is None for f in case.frames) or any(s is None for s in case.shapes):
        return Verdict.unreadable
    marks = [f for f in case.frames if f is not None]
    result = assess(marks, [0.0] * len(marks), case.action, 1.0, times_ms=case.times_ms)
    shapes = [s for s in case.shapes if s is not None]
    if result.live and shapes and parallax(shapes, case.action.direction) < MIN_PARALLAX:
        return Verdict.flat_halves
    return result.verdict


def passes(case: Case) -> bool:
    return verdict(case) is Verdict.live


def passed_previously(case: Case) -> bool:
    return previous_verdict(case) is Verdict.live


def report(name: str, cases: list[Case], live: bool) -> str:
    """One kind's figures: the turn only (before), the check as shipped before the face
    contour's depth (previous), the current check (after); a challenge of two actions
    estimated from pairs of this kind's cases, each judged alone: a pair passes when both do.
    That assumes each action's try passes independently of the other's (an attacker's one
    print is not quite independent)."""
    count = max(len(cases), 1)
    pairs = list(zip(cases[0::2], cases[1::2], strict=False))
    columns = []
    for label, check in (("before", passed_before), ("previous", passed_previously)):
        passed = sum(check(c) for c in cases)
        columns.append((label, len(cases) - passed if live else passed))
    after = sum(passes(c) for c in cases)
    columns.append(("after", len(cases) - after if live else after))
    paired = []
    for label, check in (("previous", passed_previously), ("after", passes)):
        both = sum(check(a) and check(b) for a, b in pairs)
        paired.append((label, len(pairs) - both if live else both))
    why: dict[str, int] = {}
    for case in cases:
        v = verdict(case).value
        why[v] = why.get(v, 0) + 1
    what = "rejected" if live else "accepted"
    one = ", ".join(f"{label} {n} ({n / count:.1%})" for label, n in columns)
    two = ", ".join(
        f"{label} {n} of {len(pairs)} ({n / max(len(pairs), 1):.1%})" for label, n in paired
    )
    return (
        f"{name}: {len(cases)} cases, {what} {one}; two actions (pairs): {two}; "
        f"verdicts after {dict(sorted(why.items()))}"
    )


TURN_BINS = (0.08, 0.14, 0.2, 0.3, math.inf)  # a head's ~20 degree turn at a door: ~0.14


def by_turn(name: str, cases: list[Case], live: bool = False) -> list[str]:
    """The previous and the current check's share refused (live) or accepted (an attack) in
    each band of the nose's turn (`case_turn`)."""
    lines = []
    for low, high in itertools.pairwise(TURN_BINS):
        some = [c for c in cases if low <= case_turn(c) < high]
        if not some:
            continue
        wrong = [sum(check(c) != live for c in some) for check in (passed_previously, passes)]
        what = "refused" if live else "accepted"
        lines.append(
            f"  {name}, turn {low}-{high}: {len(some)} cases, {what} previous "
            f"{wrong[0] / len(some):.1%}, now {wrong[1] / len(some):.1%}"
        )
    return lines


def simulated_schedules(rng: random.Random, count: int = 4000) -> list[str]:
    """The motion check on simulated nose paths, to choose the kiosk's frame times: a head's
    turn (reaction 250-600 ms, then 0.4-1 s along a minimum-jerk path, 0.12-0.25 of u) or a
    swap (the whole turn between two frames), with Gaussian landmark noise on u per frame:
    0.01 assumed for a kiosk's face of 150-250 px, 0.02 as MTCNN's on a 60 px face. No
    photos: this measures the frame times and the thresholds, not the landmarks."""
    noise_rng = np.random.default_rng(rng.randrange(2**32))
    lines = []
    for times in ((0, 400, 800, 1200, 1600), (0, 300, 600, 900, 1200), KIOSK_MS):
        at = np.asarray(times, dtype=np.float64)
        for noise in (0.01, 0.02):
            refused = accepted = 0
            for _ in range(count):
                size = rng.uniform(0.12, 0.25)
                head = size * minimum_jerk((at - rng.uniform(250, 600)) / rng.uniform(400, 1000))
                refused += motion(head + noise_rng.normal(0, noise, len(at)), at).flaw is not None
                switch = rng.randint(1, len(at) - 1)
                swap = np.r_[np.zeros(switch), np.full(len(at) - switch, size)]
                accepted += motion(swap + noise_rng.normal(0, noise, len(at)), at).flaw is None
            lines.append(
                f"  {len(at)} frames {times[1] - times[0]} ms apart, noise {noise}: turns refused "
                f"{refused / count:.1%}, swaps accepted {accepted / count:.1%}"
            )
    return lines


def photo_gap(case: Case) -> float:
    """The largest step between a live case's photos in the independent pose measure (affine
    yaw), as a share of its whole turn: over MAX_STEP_SHARE, the photos themselves jump."""
    yaws = np.array([affine_yaw(f) for f in case.frames if f is not None])
    return float(np.abs(np.diff(yaws)).max() / max(abs(yaws[-1] - yaws[0]), 1e-9))


def shape_cost(detector: FaceDetector, lfw: Path, repeat: int = 20) -> str:
    """What the creased-print test adds to a burst: dlib's 68 landmarks per frame and the
    half-plane fit per action, beside MTCNN's detection of the same frame, in the same run."""
    path = sorted((lfw / "people").glob("*/*.jpg"))[0]
    pixels = np.asarray(Image.open(path).convert("RGB"))
    face = detector.detect(Photo(pixels))[0]
    started = time.perf_counter()
    for _ in range(repeat):
        detector.detect(Photo(pixels))
    detect_ms = (time.perf_counter() - started) / repeat * 1000
    face_shape().points(pixels, face.box)  # loaded once
    started = time.perf_counter()
    for _ in range(repeat):
        shape = face_shape().points(pixels, face.box)
    shape_ms = (time.perf_counter() - started) / repeat * 1000
    started = time.perf_counter()
    for _ in range(repeat):
        depth([shape] * 9, [0.5 + 0.02 * k for k in range(9)], 1)
    fit_ms = (time.perf_counter() - started) / repeat * 1000
    frames = len(KIOSK_MS) * 2
    return (
        f"creased-print test: 68 landmarks {shape_ms:.1f} ms a frame, half-plane fits {fit_ms:.1f}"
        f" ms an action; a two-action burst ({frames} frames) {frames * shape_ms + 2 * fit_ms:.0f}"
        f" ms more, beside MTCNN's detection {detect_ms:.0f} ms a frame ({frames * detect_ms:.0f}"
        f" ms a burst), {path.parent.name}'s {pixels.shape[1]}x{pixels.shape[0]} photo"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--people", type=int, default=120)
    parser.add_argument("--attacks", type=int, default=25, help="cases per attack kind")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--kinds", nargs="*", default=list(ATTACKS))
    parser.add_argument(
        "--half", type=int, choices=(0, 1), help="only this half's people (bench/lfw.py)"
    )
    parser.add_argument(
        "--count", nargs="*", default=[], help="KIND=N: N cases of this kind, not --attacks"
    )
    parser.add_argument(
        "--turn-span",
        type=float,
        nargs=2,
        default=(1.0, 2.0),
        metavar=("LOW", "HIGH"),
        help="live turns' size in AFFINE_TURNs (about 20 degrees); 0.5 1: small turns",
    )
    parser.add_argument("--save", type=Path, help="keep the generated cases in this file")
    parser.add_argument("--load", type=Path, nargs="*", help="judge cases saved by --save")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    if args.load:
        saved: dict[str, list[Case]] = {}
        for path in args.load:
            for kind, cases in pickle.loads(path.read_bytes()).items():
                saved.setdefault(kind, []).extend(cases)
        live, people = saved.pop("live", []), []
        attacks = saved
    else:
        detector = FaceDetector()
        people = posed_people(detector, args.lfw, args.people, rng, args.half)
        live = live_cases(people, rng, (args.turn_span[0], args.turn_span[1]))
        counts = dict(item.split("=") for item in args.count)
        attacks = {}
        for kind in args.kinds:
            number = int(counts.get(kind, args.attacks))
            attacks[kind] = attack_cases(detector, args.lfw, people, kind, number, rng, args.half)
            if args.save:  # after each kind: a long run interrupted keeps what it made
                args.save.write_bytes(pickle.dumps({"live": live, **attacks}))
    made = f"cases of {', '.join(map(str, args.load))}" if args.load else f"half {args.half}"
    print(f"MIN_TURN = {MIN_TURN}; {made}; {len(live)} live turns")
    print(report("live", live, live=True))
    smooth = [c for c in live if photo_gap(c) <= 0.6]
    print(report("  live, photos' own largest pose step <= 0.6 of the turn", smooth, live=True))
    print("motion check on simulated nose paths (no photos):")
    print("\n".join(simulated_schedules(rng)))
    for kind, cases in attacks.items():
        print(report(kind, cases, False))
    print("by the size of the turn (one action; the creased-print test's depth grows with it):")
    print("\n".join(by_turn("live", live, live=True) + by_turn("fold", attacks.get("fold", []))))
    print(shape_cost(FaceDetector(), args.lfw))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
