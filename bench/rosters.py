"""Roster-scoped and burst rows for `bench/accuracy.py`: check-ins as a course's session makes
them (a roster of 30 searched inside a gallery of 500), one frame or a burst of several photos
of the same person fused (models/burst.py), at several retry bands, the same on both sides (a
burst's ROLLCALL_RETRY_BAND; one frame's band is bench/retry_band.py's study).

Each check-in of a roster member is right, wrong (marked as another member), retry (look again)
or undecided; a non-member enrolled elsewhere is marked present (a false mark), not_on_roster
or undecided; a stranger (never enrolled) is marked present, not_on_roster (both false) or not.
The whole-gallery rows search all 500 at the 500-person threshold, as a session of no course.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.lfw import FaceResult, LfwProtocol
from models.burst import fuse
from models.identification import (
    DecisionRule,
    RetryBand,
    RetryBands,
    decide,
    decide_on_roster,
)

ROSTER = 30
GALLERY = 500
ROSTERS = 16  # disjoint rosters of 30 among the 500: 480 members in all
BANDS = (0.0, 0.02, 0.03, 0.04, 0.05)
Lookup = Callable[..., FaceResult | None]


@dataclass(frozen=True)
class Enrolled:
    names: list[str]
    matrix: np.ndarray  # (N, D): one template each


@dataclass(frozen=True)
class Probe:
    identity: str
    single: np.ndarray  # the first frame
    burst: np.ndarray  # every frame fused
    frames: int


def enrolled(protocol: LfwProtocol, lookup: Lookup) -> Enrolled:
    people = [p for p in protocol.enrolled(GALLERY) if lookup(protocol.enrolled_photo(p))]
    return Enrolled(
        people, np.stack([lookup(protocol.enrolled_photo(p)).embedding for p in people])
    )


def _probe(
    identity: str, results: list[FaceResult | None], l2: bool, parts: tuple[int, ...] = ()
) -> Probe | None:
    embeddings = [r.embedding for r in results if r is not None]
    if len(embeddings) < 2:  # a burst needs two frames
        return None
    return Probe(identity, embeddings[0], fuse(np.stack(embeddings), l2, parts), len(embeddings))


def probes(
    protocol: LfwProtocol,
    lookup: Lookup,
    people: list[str],
    frames: int,
    l2: bool,
    first: int = 1,
    parts: tuple[int, ...] = (),
) -> list[Probe]:
    """Each person's photos first..first+frames-1 (photo 0 is the enrolled one) as a burst;
    `parts`: a fused backbone's parts, each fused on its own (models.burst.fuse)."""
    out = []
    for person in people:
        results = [lookup(p) for p in protocol.photos[person][first : first + frames]]
        if (probe := _probe(person, results, l2, parts)) is not None:
            out.append(probe)
    return out


@dataclass(frozen=True)
class DecisionInputs:
    """One check-in's distances and thresholds, as app/services/identify.py computes them:
    what a retry band does not change (bench/retry_band.py decides each once per band)."""

    args: tuple  # decide's (best, runner-up, threshold), or decide_on_roster's
    names: tuple[str, str]  # (about the member / nearest, about the non-member)
    roster: bool


def decision_inputs(
    query: np.ndarray, gallery: Enrolled, roster: np.ndarray | None, rule: DecisionRule
) -> DecisionInputs:
    distances = np.linalg.norm(gallery.matrix - query, axis=1)
    nearest, runner_up = np.argsort(distances)[:2]
    gallery_threshold = rule.face_threshold(
        len(gallery.names), float(distances[nearest]), float(distances[runner_up])
    )
    if roster is None:
        args = (float(distances[nearest]), float(distances[runner_up]), gallery_threshold)
        return DecisionInputs(args, (gallery.names[nearest],) * 2, False)
    scoped = np.where(roster, distances, np.inf)
    member, member_runner_up = np.argsort(scoped)[:2]
    roster_threshold = rule.face_threshold(
        int(roster.sum()), float(scoped[member]), float(scoped[member_runner_up])
    )
    args = (
        float(distances[member]),
        float(distances[nearest]),
        bool(roster[nearest]),
        float(distances[runner_up]),
        (roster_threshold, gallery_threshold),
    )
    return DecisionInputs(args, (gallery.names[member], gallery.names[nearest]), True)


def decision(inputs: DecisionInputs, margin: float, band: RetryBand) -> tuple[str, str]:
    """(decision, who) for one check-in at one retry band."""
    if not inputs.roster:
        best, runner_up, threshold = inputs.args
        return decide(best, runner_up, threshold, margin, band), inputs.names[0]
    verdict = decide_on_roster(*inputs.args, margin, band)
    return verdict.decision, inputs.names[0 if verdict.about_member else 1]


def _answers(
    query: np.ndarray,
    gallery: Enrolled,
    roster: np.ndarray | None,
    rule: DecisionRule,
    band: RetryBand,
) -> tuple[str, str]:
    """(decision, who) for one embedding, as app/services/identify.py decides."""
    return decision(decision_inputs(query, gallery, roster, rule), rule.margin, band)


def _rates(outcomes: list[tuple[str, str | None]], identities: list[str], kind: str) -> dict:
    n = len(outcomes)
    present = [(d, w, i) for (d, w), i in zip(outcomes, identities, strict=True) if d == "present"]
    row = {
        "checkins": n,
        "retry": sum(d == "retry" for d, _ in outcomes) / n,
        "not_on_roster": sum(d == "not_on_roster" for d, _ in outcomes) / n,
    }
    if kind == "member":
        row["right"] = sum(w == i for _, w, i in present) / n
        row["wrong"] = sum(w != i for _, w, i in present) / n
    else:  # a non-member or stranger marked present is a false mark
        row["marked_present"] = len(present) / n
    return row


def roster_rows(
    protocol: LfwProtocol,
    lookup: Lookup,
    strangers_lookup: Lookup,
    stranger_people: list[str],
    rule: DecisionRule,
    frames: int,
    l2: bool,
    parts: tuple[int, ...] = (),
    *,
    shipped: RetryBands,
) -> list[dict]:
    """Rows for each scope (whole gallery, roster), mode (single frame, burst) and band, then
    the retry resolution at `shipped`, the backbone's shipped bands (shipped_retry_bands)."""
    gallery = enrolled(protocol, lookup)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(gallery.names))
    rosters = [order[i * ROSTER : (i + 1) * ROSTER] for i in range(ROSTERS)]
    members = probes(protocol, lookup, gallery.names, frames, l2, 1, parts)
    member_probes = {p.identity: p for p in members}
    stranger_probes = probes(protocol, strangers_lookup, stranger_people, frames, l2, 0, parts)
    rows = []
    for scope in ("whole gallery", "roster"):
        for mode in ("single", "burst"):
            for band in BANDS:
                both = RetryBand(band, band)  # the same width on both sides, as a burst's
                tallies: dict[str, list] = {"member": [], "non-member": [], "stranger": []}
                for index, members in enumerate(rosters):
                    mask = np.zeros(len(gallery.names), bool)
                    mask[members] = True
                    scope_mask = mask if scope == "roster" else None
                    # Non-members: the next roster's people, checking in to this one's session.
                    others = rosters[(index + 1) % ROSTERS]
                    groups = {
                        "member": [gallery.names[m] for m in members],
                        "non-member": [gallery.names[m] for m in others]
                        if scope == "roster"
                        else [],
                    }
                    for kind, people in groups.items():
                        for person in people:
                            if (probe := member_probes.get(person)) is None:
                                continue
                            query = probe.single if mode == "single" else probe.burst
                            tallies[kind].append(
                                (
                                    _answers(
                                        query, gallery, scope_mask, rule, RetryBand(band, band)
                                    ),
                                    person,
                                )
                            )
                    for probe in stranger_probes:
                        query = probe.single if mode == "single" else probe.burst
                        tallies["stranger"].append(
                            (
                                _answers(query, gallery, scope_mask, rule, both),
                                probe.identity,
                            )
                        )
                row = {"scope": scope, "mode": mode, "band": band}
                for kind, found in tallies.items():
                    if found:
                        row[kind] = _rates([f for f, _ in found], [i for _, i in found], kind)
                rows.append(row)
    rows.append(_retry_resolution(gallery, rosters, member_probes, rule, shipped))
    return rows


def _retry_resolution(gallery, rosters, member_probes, rule, shipped: RetryBands) -> dict:
    """Of the single frames that answered retry in a roster search, what the burst
    they belong to answered (the backbone's shipped bands: one frame's, then the burst's)."""
    one_frame, burst = shipped.for_frames(1), shipped.for_frames(2)
    resolved: dict[str, int] = {}
    for members in rosters:
        mask = np.zeros(len(gallery.names), bool)
        mask[members] = True
        for m in members:
            probe = member_probes.get(gallery.names[m])
            if probe is None:
                continue
            if _answers(probe.single, gallery, mask, rule, one_frame)[0] != "retry":
                continue
            decision, who = _answers(probe.burst, gallery, mask, rule, burst)
            key = "right" if decision == "present" and who == probe.identity else decision
            key = "wrong" if decision == "present" and who != probe.identity else key
            resolved[key] = resolved.get(key, 0) + 1
    return {"retry_resolution": resolved, "bands": repr(shipped)}


def print_rows(rows: list[dict]) -> None:
    print(
        f"\nRosters of {ROSTER} in a gallery of {GALLERY}: single frame or burst (photos 2-5 "
        "of the person fused), by retry band"
    )
    header = (
        "scope",
        "mode",
        "band",
        "right",
        "wrong",
        "retry",
        "non-m. marked",
        "non-m. not_on_r",
        "strangers marked",
        "strangers retry",
    )
    widths = (-15, -7, 6, 8, 8, 8, 14, 16, 17, 16)

    def line(cells) -> str:
        return "".join(
            f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)
        )

    print(line(header))
    for row in rows:
        if "scope" not in row:
            continue
        member, stranger = row["member"], row["stranger"]
        non = row.get("non-member")
        print(
            line(
                (
                    row["scope"],
                    row["mode"],
                    f"{row['band']:.2f}",
                    f"{member['right']:.1%}",
                    f"{member['wrong']:.2%}",
                    f"{member['retry']:.1%}",
                    f"{non['marked_present']:.2%}" if non else "-",
                    f"{non['not_on_roster']:.1%}" if non else "-",
                    f"{stranger['marked_present'] + stranger['not_on_roster']:.2%}",
                    f"{stranger['retry']:.1%}",
                )
            )
        )
    for row in rows:
        if "retry_resolution" in row:
            print(
                f"  single frames answering retry ({row['bands']}), their burst answered: "
                f"{row['retry_resolution']}"
            )
