"""Open-set identification for `bench/accuracy.py`, as the service runs it: each check-in (an
enrolled person's other photo, or a stranger's) searched against the whole gallery, its nearest
and runner-up enrolled person kept (`Search`), then decided by a rule: dlib's face_recognition
rule, or Rollcall's (distance only, or shipped). `tally` counts right, wrong, undecided and
strangers accepted; `sweep` runs Rollcall's rule at other settings of ROLLCALL_MAX_FPIR and the
ambiguity margin. bench/two_photos.py and bench/cohort_norm.py count with the same functions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.lfw import LfwProtocol
from models.identification import DecisionRule, decide

DLIB_TOLERANCE = 0.6  # face_recognition's default `tolerance`


@dataclass(frozen=True)
class Search:
    """One check-in against a gallery: best and runner-up student, and who it really is."""

    identity: str
    known: bool
    best: str | None
    distance: float
    runner_up: float


def searches(
    protocol: LfwProtocol, lookup, gallery_size: int, probes_per_person: int
) -> list[Search]:
    people = protocol.enrolled(gallery_size)
    enrolled = [(p, lookup(protocol.enrolled_photo(p))) for p in people]
    enrolled = [(p, r) for p, r in enrolled if r is not None]  # no face: could not enroll
    names = [p for p, _ in enrolled]
    matrix = np.stack([r.embedding for _, r in enrolled])
    with_probes = protocol.gallery[:gallery_size]
    checkins = [(p, path) for p in with_probes for path in protocol.probes(p, probes_per_person)]
    checkins += [(s, protocol.photos[s][0]) for s in protocol.strangers]
    found = []
    for identity, path in checkins:
        result = lookup(path)
        known = identity in names
        if result is None:
            found.append(Search(identity, known, None, math.inf, math.inf))
            continue
        d = np.linalg.norm(matrix - result.embedding, axis=1)
        order = np.argsort(d)
        runner = float(d[order[1]]) if len(order) > 1 else math.inf
        found.append(Search(identity, known, names[order[0]], float(d[order[0]]), runner))
    return found


Threshold = Callable[[float, float], float]  # a face's, from its nearest's and runner-up's


def tally(found: list[Search], threshold: Threshold, margin: float) -> dict[str, float]:
    known = [s for s in found if s.known]
    strangers = [s for s in found if not s.known]
    right = wrong = accepted = 0
    for s in found:
        present = (
            decide(s.distance, s.runner_up, threshold(s.distance, s.runner_up), margin) == "present"
        )
        if s.known:
            right += present and s.best == s.identity
            wrong += present and s.best != s.identity
        else:
            accepted += present
    typical = (
        float(np.median([threshold(s.distance, s.runner_up) for s in known])) if known else math.nan
    )
    return {
        "threshold": round(typical, 4),  # the median check-in's
        "right": right / len(known),
        "wrong": wrong / len(known),
        "undecided": 1 - (right + wrong) / len(known),
        "strangers_accepted": accepted / len(strangers),
        "checkins": len(known),
        "strangers": len(strangers),
    }


def fixed(threshold: float) -> Threshold:
    return lambda _best, _runner_up: threshold


def face_thresholds(rule: DecisionRule, size: int) -> Threshold:
    return lambda best, runner_up: rule.face_threshold(size, best, runner_up)


def zero_error_right(found: list[Search], margin: float) -> float:
    """Share right at the loosest threshold that accepts no stranger and no wrong person."""
    bad = [
        s.distance for s in found if s.distance < math.inf and (not s.known or s.best != s.identity)
    ]
    limit = min(bad, default=math.inf)
    return tally(found, fixed(limit), margin)["right"]


def open_set(protocol, lookups, rules: dict[str, DecisionRule], sizes, probes) -> dict[str, dict]:
    """Each gallery size: dlib's rule, and for Rollcall's pipeline with each backbone its
    distance-only rule (the FAR curve alone: what the service shipped before the runner-up
    curve) and its shipped rule."""
    table: dict[str, dict] = {}
    for asked in sizes:
        size = len(protocol.enrolled(asked))  # fewer where the protocol has fewer people
        dlib_found = searches(protocol, lookups["dlib"], size, probes)
        rows = {
            "dlib, face_recognition rule": {
                **tally(dlib_found, fixed(DLIB_TOLERANCE), 0.0),
                "zero_error_right": zero_error_right(dlib_found, 0.0),
            }
        }
        for name, rule in rules.items():
            ours = searches(protocol, lookups[name], size, probes)
            distance_only = dataclasses.replace(rule, runner_up_curve=None)
            zero_error = zero_error_right(ours, rule.margin)
            rows[f"{name}, distance only"] = {
                **tally(ours, face_thresholds(distance_only, size), rule.margin),
                "zero_error_right": zero_error,
            }
            rows[name] = {
                **tally(ours, face_thresholds(rule, size), rule.margin),
                "zero_error_right": zero_error,
            }
        table[str(size)] = rows
    return table


SWEEP_FPIR = (0.001, 0.003, 0.01, 0.03, 0.1)
SWEEP_MARGIN = (0.0, 0.02, 0.04, 0.06)


def sweep(protocol, lookup, rule: DecisionRule, sizes, probes) -> list[dict]:
    """Rollcall at other settings of ROLLCALL_MAX_FPIR and the ambiguity margin: the defaults'
    evidence."""
    rows = []
    for size in sizes:
        found = searches(protocol, lookup, size, probes)
        for fpir in SWEEP_FPIR:
            for margin in SWEEP_MARGIN:
                trial = dataclasses.replace(rule, margin=margin, max_fpir=fpir)
                rows.append({"gallery": size, "max_fpir": fpir, "margin": margin,
                             **tally(found, face_thresholds(trial, size), margin)})  # fmt: skip
    return rows
