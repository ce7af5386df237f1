"""The enrollment gate study for `bench/accuracy.py`: the enrolled photo of 200 gallery people
degraded (downscaled, blurred), and how many of that person's check-ins its template still
matches at a class-sized search's threshold, by variant, face size and sharpness; and what a
gate (minimum face size and sharpness) would refuse and lose.
"""

from __future__ import annotations

import itertools

import numpy as np

from bench.lfw import FaceResult, LfwProtocol
from models.identification import DecisionRule

GATE_PEOPLE = 200
GATE_CLASS_SIZE = 30  # the gate is judged at the threshold of a class-sized search
GATE_VARIANTS = ("scale0.2", "scale0.25", "scale0.3", "scale0.4", "scale0.5",
                 "blur1", "blur1.5", "blur2.5", "blur4")  # fmt: skip
SIZE_BINS = (0, 40, 45, 50, 60, 80, 1e9)
SHARPNESS_BINS = (0, 2, 4, 6, 8, 10, 15, 25, 1e9)


def gate_study(
    protocol: LfwProtocol, lookup, rule: DecisionRule, probes: int, embedded=None
) -> list[dict]:
    """Each (degraded) enrollment photo: face size, sharpness, and how many of its owner's
    check-ins its template matches at a class-sized search's threshold. `embedded(path,
    variant)`: whether `lookup` has the photo (`--only-cached`: the others are left out)."""
    threshold = rule.identification_threshold(GATE_CLASS_SIZE)
    rows = []
    for person in protocol.gallery[:GATE_PEOPLE]:
        probe_results = [lookup(p) for p in protocol.probes(person, probes)]
        probe_embeddings = [r.embedding for r in probe_results if r is not None]
        if not probe_embeddings:
            continue
        for variant in ("full", *GATE_VARIANTS):
            if embedded is not None and not embedded(protocol.enrolled_photo(person), variant):
                continue
            enrolled: FaceResult | None = lookup(protocol.enrolled_photo(person), variant)
            row = {"person": person, "variant": variant, "face": enrolled is not None}
            if enrolled is not None:
                distances = np.linalg.norm(np.stack(probe_embeddings) - enrolled.embedding, axis=1)
                row |= {
                    "face_size": enrolled.face_size,
                    "sharpness": enrolled.sharpness,
                    "checkins": len(distances),
                    "matched": int((distances < threshold).sum()),
                }
            rows.append(row)
    return rows


def _matched(rows: list[dict]) -> float | None:
    checkins = sum(r["checkins"] for r in rows)
    return sum(r["matched"] for r in rows) / checkins if checkins else None


def gate_summary(rows: list[dict], min_size: float, min_sharpness: float) -> dict:
    """Matched rates by variant and by bins, and what a gate would refuse and lose."""
    with_face = [r for r in rows if r["face"]]

    def median(key: str, variant: str) -> float:
        values = [r[key] for r in with_face if r["variant"] == variant]
        return float(np.median(values)) if values else float("nan")

    by_variant = {
        v: {
            "photos": sum(r["variant"] == v for r in rows),
            "no_face": sum(r["variant"] == v and not r["face"] for r in rows),
            "median_face_size": median("face_size", v),
            "median_sharpness": median("sharpness", v),
            "matched": _matched([r for r in with_face if r["variant"] == v]),
        }
        for v in ("full", *GATE_VARIANTS)
    }

    def bins(key: str, edges: tuple[float, ...]) -> list[dict]:
        out = []
        for low, high in itertools.pairwise(edges):
            inside = [r for r in with_face if low <= r[key] < high]
            out.append(
                {"from": low, "to": high, "photos": len(inside), "matched": _matched(inside)}
            )
        return out

    def gate(size: float, sharp: float) -> dict:
        refused = [r for r in with_face if r["face_size"] < size or r["sharpness"] < sharp]
        kept = [r for r in with_face if r["face_size"] >= size and r["sharpness"] >= sharp]
        return {"min_face_size": size, "min_sharpness": sharp, "refused": len(refused),
                "refused_matched": _matched(refused), "kept_matched": _matched(kept)}  # fmt: skip

    return {
        "class_size": GATE_CLASS_SIZE,
        "by_variant": by_variant,
        "face_size": bins("face_size", SIZE_BINS),
        "sharpness": bins("sharpness", SHARPNESS_BINS),
        "gates": [gate(80, 15), gate(min_size, min_sharpness)],
    }
