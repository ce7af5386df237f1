"""The open-set attendance protocol: enroll one photo of some identities, check the rest in.

Every photo of an identity never enrolled is a stranger; each check-in is decided by
`models.identification.decide`, as the service decides it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from models.identification import DEFAULT_AMBIGUITY_MARGIN, IdentificationDecision, decide

DEFAULT_STRANGER_FRACTION = 0.4


@dataclass(frozen=True)
class OpenSetSplit:
    enrolled: dict[str, int]  # identity -> index of its one enrolled photo
    strangers: list[str]  # identities never enrolled: every photo of theirs is a stranger


def open_set_split(
    labels: Sequence[str], seed: int = 0, stranger_fraction: float = DEFAULT_STRANGER_FRACTION
) -> OpenSetSplit:
    """Enroll one photo of some identities; hold the rest out as strangers. Deterministic.

    Only identities with at least two photos can be enrolled (one photo enrolls, the others
    check in); `stranger_fraction` of them (rounded, keeping at least one enrolled) are held out
    as strangers, along with every single-photo identity.
    """
    by_identity: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_identity.setdefault(label, []).append(index)
    candidates = sorted(name for name, idx in by_identity.items() if len(idx) >= 2)
    rng = np.random.default_rng(seed)
    order = [candidates[i] for i in rng.permutation(len(candidates))]
    held_out = min(round(stranger_fraction * len(order)), max(len(order) - 1, 0))
    enrolled = {
        name: int(by_identity[name][rng.integers(len(by_identity[name]))])
        for name in sorted(order[held_out:])
    }
    strangers = sorted(set(by_identity) - set(enrolled))
    return OpenSetSplit(enrolled=enrolled, strangers=strangers)


@dataclass(frozen=True)
class Probe:
    """One check-in photo against the enrolled gallery."""

    index: int
    identity: str
    known: bool  # the identity is enrolled
    nearest: str  # nearest enrolled identity
    distance: float
    runner_up: str | None
    runner_up_distance: float  # inf when only one identity is enrolled

    def decision(self, threshold: float, ambiguity_margin: float) -> IdentificationDecision:
        """The service's answer to this check-in: present, unknown or ambiguous."""
        return decide(self.distance, self.runner_up_distance, threshold, ambiguity_margin)


def open_set_probes(
    distances: np.ndarray, labels: Sequence[str], split: OpenSetSplit
) -> list[Probe]:
    """Search every non-enrolled photo against the gallery, as the service's check-in does."""
    names = list(split.enrolled)
    gallery = np.array([split.enrolled[name] for name in names], dtype=int)
    enrolled_photos = set(gallery.tolist())
    probes = []
    for index, identity in enumerate(labels):
        if index in enrolled_photos:
            continue
        row = distances[index, gallery]
        order = np.argsort(row, kind="stable")
        second = order[1] if len(order) > 1 else None
        probes.append(
            Probe(
                index=index,
                identity=identity,
                known=identity in split.enrolled,
                nearest=names[order[0]],
                distance=float(row[order[0]]),
                runner_up=None if second is None else names[second],
                runner_up_distance=math.inf if second is None else float(row[second]),
            )
        )
    return probes


def outcome(probe: Probe, threshold: float, ambiguity_margin: float) -> str:
    decision = probe.decision(threshold, ambiguity_margin)
    if not probe.known:
        return "accepted_stranger" if decision == "present" else "rejected_stranger"
    if decision != "present":
        return "rejected"
    return "correct" if probe.nearest == probe.identity else "wrong"


class OpenSetCheckin(TypedDict):
    photo: str | int  # its path, or its index when no paths are given
    identity: str
    known: bool
    nearest: str
    distance: float
    outcome: str


class OpenSetMetrics(TypedDict):
    threshold: float
    ambiguity_margin: float
    known_checkins: int
    stranger_checkins: int
    correct: int
    wrong: int
    rejected: int
    accepted_strangers: int
    rejected_strangers: int
    ambiguous: int
    checkins: list[OpenSetCheckin]


def open_set_metrics(
    probes: Sequence[Probe],
    threshold: float,
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
    paths: Sequence[str] | None = None,
) -> OpenSetMetrics:
    counts = dict.fromkeys(
        ("correct", "wrong", "rejected", "accepted_strangers", "rejected_strangers"), 0
    )
    key = {"accepted_stranger": "accepted_strangers", "rejected_stranger": "rejected_strangers"}
    checkins: list[OpenSetCheckin] = []
    ambiguous = 0
    for probe in probes:
        result = outcome(probe, threshold, ambiguity_margin)
        counts[key.get(result, result)] += 1
        ambiguous += probe.decision(threshold, ambiguity_margin) == "ambiguous"
        checkins.append(
            {
                "photo": paths[probe.index] if paths else probe.index,
                "identity": probe.identity,
                "known": probe.known,
                "nearest": probe.nearest,
                "distance": round(probe.distance, 4),
                "outcome": result,
            }
        )
    known = sum(probe.known for probe in probes)
    return {
        "threshold": float(threshold),
        "ambiguity_margin": ambiguity_margin,
        "known_checkins": known,
        "stranger_checkins": len(probes) - known,
        "correct": counts["correct"],
        "wrong": counts["wrong"],
        "rejected": counts["rejected"],
        "accepted_strangers": counts["accepted_strangers"],
        "rejected_strangers": counts["rejected_strangers"],
        "ambiguous": ambiguous,
        "checkins": checkins,
    }
