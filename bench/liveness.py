"""Liveness on generated cases: how many attacks pass, how many real turns are refused, by the
first check (the nose's turn between the burst's ends) and by the current one (the turn, then
its motion through every frame, models/liveness_motion.py), in the same run.

    python bench/liveness.py [--lfw ../shared/lfw-devtrain] [--people 120] [--attacks 25]

The cases are described in bench/liveness_cases.py (live turns made of LFW photos at the
kiosk's capture times; printed, phone, bent, folded, mirrored and swapped pictures, rendered
by bench/liveness_render.py). A live burst is one person by construction and an attack one
photo (or two of one person), so the same-person check passes both: it is left out here.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.liveness_cases import ATTACKS, Case, attack_cases, live_cases, posed_people
from models.detection import FaceDetector
from models.liveness import MIN_TURN, Verdict, assess, nose_position, turn

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
    """models.liveness.assess on the case, its capture times included."""
    if any(f is None for f in case.frames):
        return Verdict.unreadable
    marks = [f for f in case.frames if f is not None]
    return assess(marks, [0.0] * len(marks), case.action, 1.0, times_ms=case.times_ms).verdict


def passes(case: Case) -> bool:
    return verdict(case) is Verdict.live


def report(name: str, cases: list[Case], live: bool) -> str:
    before = sum(passed_before(c) for c in cases)
    after = sum(passes(c) for c in cases)
    if live:
        before, after = len(cases) - before, len(cases) - after
    why: dict[str, int] = {}
    for case in cases:
        v = verdict(case).value
        why[v] = why.get(v, 0) + 1
    what = "rejected" if live else "accepted"
    return (
        f"{name}: {len(cases)} cases, {what} before {before} ({before / len(cases):.1%}), "
        f"after {after} ({after / len(cases):.1%}); verdicts {dict(sorted(why.items()))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--people", type=int, default=120)
    parser.add_argument("--attacks", type=int, default=25, help="cases per attack kind")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--kinds", nargs="*", default=list(ATTACKS))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    detector = FaceDetector()
    started = time.perf_counter()
    people = posed_people(detector, args.lfw, args.people, rng)
    live = live_cases(people, rng)
    print(f"MIN_TURN = {MIN_TURN}; {len(people)} people, {len(live)} live turns")
    print(report("live", live, live=True))
    for kind in args.kinds:
        print(
            report(kind, attack_cases(detector, args.lfw, people, kind, args.attacks, rng), False)
        )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
