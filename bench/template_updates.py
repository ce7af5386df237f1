"""Template updates from confident check-ins over a week of use: a study, not shipped.

    python bench/template_updates.py --half 1        # people no constant was fitted on
    python bench/template_updates.py --half 0 --cache DIR   # after bench/retry_band.py --embed

A school's week on LFW dev-train: each enrolled person's photo 1 is their template, and on day
k (1-4) every person with a photo k+1 checks in with it, one frame, decided as the service
decides it (the shipped rule and one-frame retry band). With updates on, a check-in marked
present at a distance under `--limits` and with its runner-up at least `MARGIN` farther adds its
embedding to that student's templates (at most `CAP` added a student); a student's distance is
their nearest template's. 500 one-photo strangers check in after the week (the gallery at its
largest). It reads the embeddings bench/accuracy.py cached (`out/bench-cache`) and leaves out
photos the cache lacks.

First run (2026-12-03), half 1, right (all check-ins) / right on days 2-4 / wrong / strangers:
500 enrolled, no updates 54.7% / 50.3% / 1 / 0.0%; limit 0.38: 55.7% / 52.6% / 2 / 0.0%;
0.45: 59.1% / 59.5% / 2 / 0.0%. 100 enrolled: 55.0% / 52.3% / 0 / 0.2% -> (0.45) 60.2% / 62.2% /
0 / 0.0%. So a few points on later days, and at 500 the one wrong check-in (a look-alike marked
0.055 under the threshold, far inside it) becomes a template of the wrong student and marks a
second wrong check-in: an update turns the worst failure into a lasting one. LFW's photos of a
person are years apart; a kiosk's daily photos are alike, so a real school would gain more, and
lose more from a bad update. Not in the service.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import (
    SHIPPED_FLIP_TTA,
    EmbeddingCache,
    LfwProtocol,
    lfw_protocol,
    rollcall_cache_key,
)
from models.identification import DecisionRule, decide, shipped_retry_bands, shipped_rule

SHARED = Path(__file__).resolve().parents[2] / "shared"
DAYS = 4  # photos 2-5: bench/accuracy.py's check-ins
MARGIN = 0.05  # an update also needs its runner-up this much farther (twice the ambiguity margin)
CAP = 3  # templates added a student at most


@dataclass
class Gallery:
    """Enrolled students' templates: rows of `matrix`, each owned by a student index."""

    names: list[str]
    rows: list[np.ndarray]
    owners: list[int]
    added: np.ndarray  # templates added to each student

    def nearest_two(self, query: np.ndarray) -> tuple[int, float, float]:
        distances = np.linalg.norm(np.stack(self.rows) - query, axis=1)
        per_student = np.full(len(self.names), np.inf)
        np.minimum.at(per_student, np.array(self.owners), distances)
        best, runner_up = np.argsort(per_student)[:2]
        return int(best), float(per_student[best]), float(per_student[runner_up])

    def add(self, student: int, embedding: np.ndarray) -> None:
        self.rows.append(embedding)
        self.owners.append(student)
        self.added[student] += 1


def week(protocol: LfwProtocol, lookup, size: int, rule: DecisionRule, limit: float | None):
    """Counts of one week at one update limit (None: no updates)."""
    enrolled = [(p, lookup(protocol.enrolled_photo(p))) for p in protocol.enrolled(size)]
    enrolled = [(p, r.embedding) for p, r in enrolled if r is not None]
    names, rows = [p for p, _ in enrolled], [e for _, e in enrolled]
    gallery = Gallery(names, rows, list(range(len(names))), np.zeros(len(names), int))
    candidates = len(gallery.names)
    band = shipped_retry_bands("dlib-resnet", SHIPPED_FLIP_TTA).one_frame  # the rule's own

    def present(query: np.ndarray) -> tuple[bool, int, float, float]:
        best, distance, runner_up = gallery.nearest_two(query)
        threshold = rule.face_threshold(candidates, distance, runner_up)
        return decide(distance, runner_up, threshold, rule.margin, band) == "present", best, \
            distance, runner_up  # fmt: skip

    counts = {"checkins": 0, "right": 0, "later": 0, "later_right": 0, "wrong": 0, "bad_updates": 0}
    for day in range(1, DAYS + 1):
        for person in protocol.gallery[:size]:
            if len(protocol.photos[person]) <= day:
                continue
            counts["checkins"] += 1
            counts["later"] += day > 1
            found = lookup(protocol.photos[person][day])
            if found is None:
                continue
            marked, best, distance, runner_up = present(found.embedding)
            if not marked:
                continue
            right = gallery.names[best] == person
            counts["right"] += right
            counts["later_right"] += right and day > 1
            counts["wrong"] += not right
            confident = limit is not None and distance <= limit and runner_up - distance >= MARGIN
            if confident and gallery.added[best] < CAP:
                gallery.add(best, found.embedding)
                counts["bad_updates"] += not right
    strangers = [lookup(protocol.photos[s][0]) for s in protocol.strangers]
    strangers = [s for s in strangers if s is not None]
    counts["strangers"] = len(strangers)
    counts["strangers_marked"] = sum(present(s.embedding)[0] for s in strangers)
    counts["templates_added"] = int(gallery.added.sum())
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    parser.add_argument("--half", type=int, choices=(0, 1), default=1)
    parser.add_argument("--galleries", type=int, nargs="+", default=[30, 100, 500, 1000])
    parser.add_argument("--limits", type=float, nargs="+", default=[0.38, 0.42, 0.45])
    args = parser.parse_args()
    protocol = lfw_protocol(args.lfw, 0, max(args.galleries), 500, args.half)
    cache = EmbeddingCache(args.cache, rollcall_cache_key())
    if not cache.results:
        raise SystemExit(f"{cache.path} holds no embeddings: run bench/accuracy.py first")

    def lookup(path: Path):
        return cache.results.get(f"{path.relative_to(protocol.root).as_posix()}|full")

    rule = shipped_rule(flip_tta=SHIPPED_FLIP_TTA)
    print(f"half {args.half}; right / right on days 2-{DAYS} / wrong check-ins / strangers "
          f"marked / templates added (of them to the wrong student)")  # fmt: skip
    for size in args.galleries:
        for limit in [None, *args.limits]:
            c = week(protocol, lookup, size, rule, limit)
            name = "no updates" if limit is None else f"update under {limit:.2f}"
            print(f"{size:>6} enrolled  {name:<18} {c['right'] / c['checkins']:6.1%} "
                  f"{c['later_right'] / max(c['later'], 1):6.1%} {c['wrong']:>3} "
                  f"{c['strangers_marked'] / max(c['strangers'], 1):6.2%} "
                  f"{c['templates_added']:>5} ({c['bad_updates']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
