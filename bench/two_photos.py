"""Two enrolled photos a person for `bench/accuracy.py`: photos 1 and 2 of each gallery person
with 3+ photos are their templates (a second photo adds a template, as the service does), their
photos 3 to 1 + `probes` check in (the open-set rows' check-ins less photo 2). A student's
distance is their nearer template's; the runner-up is the nearest other student's. People with
fewer photos enroll their one photo."""

from __future__ import annotations

import math

import numpy as np

from bench.lfw import LfwProtocol
from bench.open_set import DLIB_TOLERANCE, Search, face_thresholds, fixed, tally, zero_error_right

TEMPLATES = 2


def searches(protocol: LfwProtocol, lookup, gallery_size: int, probes: int) -> list[Search]:
    owners, rows = [], []
    for person in protocol.enrolled(gallery_size):
        photos = protocol.photos[person]
        kept = photos[:TEMPLATES] if len(photos) > TEMPLATES else photos[:1]
        for path in kept:
            if (found := lookup(path)) is not None:
                owners.append(person)
                rows.append(found.embedding)
    names = sorted(set(owners))
    index = np.array([names.index(o) for o in owners])
    matrix = np.stack(rows)
    checkins = [
        (p, path)
        for p in protocol.gallery[:gallery_size]
        if len(protocol.photos[p]) > TEMPLATES
        for path in protocol.photos[p][TEMPLATES : 1 + probes]
    ]
    checkins += [(s, protocol.photos[s][0]) for s in protocol.strangers]
    found_searches = []
    for identity, path in checkins:
        result = lookup(path)
        known = identity in names and len(protocol.photos[identity]) > TEMPLATES
        if result is None:
            found_searches.append(Search(identity, known, None, math.inf, math.inf))
            continue
        d = np.linalg.norm(matrix - result.embedding, axis=1)
        per_student = np.full(len(names), math.inf)
        np.minimum.at(per_student, index, d)
        order = np.argsort(per_student)
        runner = float(per_student[order[1]]) if len(order) > 1 else math.inf
        found_searches.append(
            Search(identity, known, names[order[0]], float(per_student[order[0]]), runner)
        )
    return found_searches


def table(protocol: LfwProtocol, lookups: dict, rules: dict, sizes, probes: int) -> dict:
    """Each gallery size: dlib's face_recognition rule and each Rollcall backbone's rule."""
    out: dict[str, dict] = {}
    for asked in sizes:
        size = len(protocol.enrolled(asked))
        found = searches(protocol, lookups["dlib"], size, probes)
        dlib = {**tally(found, fixed(DLIB_TOLERANCE), 0.0), "zero_error_right": 0.0}
        dlib["zero_error_right"] = zero_error_right(found, 0.0)
        rows = {"dlib, face_recognition rule": dlib}
        for name, rule in rules.items():
            found = searches(protocol, lookups[name], size, probes)
            rows[name] = {**tally(found, face_thresholds(rule, size), rule.margin),
                          "zero_error_right": zero_error_right(found, rule.margin)}  # fmt: skip
        out[str(size)] = rows
    return out


def print_table(table: dict) -> None:
    print(f"\nTwo photos enrolled ({TEMPLATES} templates a person with 3+ photos; the others "
          "check in)")  # fmt: skip
    print(f"{'gallery':>8}  {'pipeline, rule':<30}{'right':>8}{'wrong':>8}{'strangers in':>13}"
          f"{'0-err right':>12}{'check-ins':>10}")  # fmt: skip
    for size, rows in table.items():
        for name, m in rows.items():
            print(f"{size:>8}  {name:<30}{m['right']:>8.1%}{m['wrong']:>8.2%}"
                  f"{m['strangers_accepted']:>13.2%}{m['zero_error_right']:>12.1%}"
                  f"{m['checkins']:>10}")  # fmt: skip
