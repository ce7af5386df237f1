"""Does a check-in's face quality change how often strangers match? A study, not shipped.

    python bench/quality_far.py [--lfw ../shared/lfw-devtrain] [--cache out/bench-cache]

The shipped rule gives every face of a search among N people one threshold (models.thresholds:
FAR(t) over all impostor pairs). A threshold that followed the check-in's quality (issue 27's
"thresholds that use face quality") helps only if some faces' impostor pairs fall under t more
often than others' at the same share of their genuine pairs. This prints, for the probe's face
size and sharpness (models.quality.assess, as the service measures them) in quartiles fitted on
half 0 of LFW dev-train's people, FAR and TAR at the mirror-averaged default's thresholds for 30,
100 and 500 people searched; then a quality-aware rule: each face-size quartile its own
threshold with half 0's overall FAR at t (one allocation of the FAR, the simplest), fitted on
half 0 and counted on half 1.

Pairs: every photo of a half's people that the cache holds (bench/retry_band.py embeds up to 5 a
person) against the first photo of every person of that half (the template; its own photo left
out): 1,300-1,400 genuine pairs a half, so a point of TAR is 13-14 pairs. Distances only
(the runner-up rule, bursts and bands, which move all faces alike, are left out). Reads
`bench/accuracy.py`'s cached embeddings of the shipped pipeline (run `bench/retry_band.py
--half 0 --embed` and `--half 1 --embed` first).

Run (mirror-averaged dlib-resnet, 12 s; the cache after `bench/retry_band.py --embed` of both
halves and `bench/accuracy.py --half 1`: 1,276 genuine pairs on half 0, 1,414 on half 1; the
figures move by a few tenths with what the cache holds): sharpness moves FAR on one half only
(500 searched: half 0's sharpest quartile 3.7e-05 against 1.9-2.6e-05, half 1's 1.6-2.3e-05 in
every quartile): no effect that replicates. Face size does, on both halves: the smallest
quartile of half 0's (54-89 px) matches impostors 2-5 times as often (500, half 1: 4.2e-05
against 0.8-1.8e-05) at about the same TAR. Each size quartile with its own threshold (500:
0.415, 0.433, 0.435, 0.445 against 0.425), against one threshold spending the same FAR on half
1: 87.3 against 86.4% TAR at 30 searched, 77.2 against 76.1% at 100, 60.6 against 60.8% at 500:
no gain larger than the pairs' noise (a point is ~14 pairs), none at school scale, on LFW's
narrow sizes (a kiosk's faces differ more). Not shipped.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cohort_norm import pairwise
from bench.lfw import (
    SHIPPED_FLIP_TTA,
    EmbeddingCache,
    lfw_protocol,
    person_half,
    rollcall_cache_key,
)
from models.identification import shipped_rule

SHARED = Path(__file__).resolve().parents[2] / "shared"
SIZES = (30, 100, 500)


@dataclass(frozen=True)
class Pairs:
    """A half's probe-template distances, and each probe's quality."""

    distances: np.ndarray  # (probes, templates)
    same: np.ndarray  # (probes, templates): the same person
    own: np.ndarray  # (probes, templates): the template is the probe's own photo
    face_size: np.ndarray  # (probes,)
    sharpness: np.ndarray  # (probes,)

    def rates(self, rows: np.ndarray, threshold: float | np.ndarray) -> tuple[float, float]:
        """FAR and TAR of the probes in `rows` at `threshold` (one, or one per probe)."""
        t = np.broadcast_to(np.asarray(threshold, float), rows.shape)[rows][:, None]
        d, same, own = self.distances[rows], self.same[rows], self.own[rows]
        accepted = d < t
        return float(accepted[~same].mean()), float(accepted[same & ~own].mean())


def half_pairs(lfw: Path, cache: EmbeddingCache, half: int) -> Pairs:
    protocol = lfw_protocol(lfw, 0, 10**6, 0, half)
    found = [
        (person, index, result)
        for person, photos in protocol.photos.items()
        if person_half(person) == half
        for index, path in enumerate(photos)
        if (result := cache.results.get(f"{path.relative_to(protocol.root).as_posix()}|full"))
    ]
    if not found:
        raise SystemExit(f"{cache.path} holds no photo of half {half}: see the docstring")
    names = np.array([person for person, _, _ in found])
    embeddings = np.stack([r.embedding for _, _, r in found]).astype(np.float64)
    templates = np.array([i for i, (_, index, _) in enumerate(found) if index == 0])
    return Pairs(
        distances=pairwise(embeddings, embeddings[templates]),
        same=names[:, None] == names[templates][None, :],
        own=np.arange(len(found))[:, None] == templates[None, :],
        face_size=np.array([r.face_size for _, _, r in found]),
        sharpness=np.array([r.sharpness for _, _, r in found]),
    )


def quartile(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """0-3: which of half 0's quartiles each value falls in."""
    return np.clip(np.searchsorted(edges[1:-1], values, side="right"), 0, 3)


def threshold_at_far(pairs: Pairs, rows: np.ndarray, far: float) -> float:
    impostors = np.sort(pairs.distances[rows][~pairs.same[rows]])
    return float(impostors[int(far * len(impostors))])


def print_quartiles(name: str, pairs: list[Pairs], edges: np.ndarray, t: float) -> None:
    for half, p in enumerate(pairs):
        bins = quartile(getattr(p, name), edges)
        cells = []
        for b in range(4):
            far, tar = p.rates(bins == b, t)
            cells.append(f"FAR {far:.1e} TAR {tar:.1%}")
        print(f"    half {half}: " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    args = parser.parse_args()
    cache = EmbeddingCache(args.cache, rollcall_cache_key(flip_tta=SHIPPED_FLIP_TTA))
    pairs = [half_pairs(args.lfw, cache, half) for half in (0, 1)]
    rule = shipped_rule(flip_tta=SHIPPED_FLIP_TTA)
    fit, report = pairs
    for n in SIZES:
        t = rule.identification_threshold(n)
        print(f"\n{n} people searched: t = {t:.4f}")
        for name in ("face_size", "sharpness"):
            edges = np.quantile(getattr(fit, name), [0, 0.25, 0.5, 0.75, 1])
            print(f"  by the probe's {name}, quartiles {np.round(edges, 1).tolist()} (half 0):")
            print_quartiles(name, pairs, edges, t)
        edges = np.quantile(fit.face_size, [0, 0.25, 0.5, 0.75, 1])
        far0, _ = fit.rates(np.ones(len(fit.face_size), bool), t)
        fitted = [
            threshold_at_far(fit, quartile(fit.face_size, edges) == b, far0) for b in range(4)
        ]
        per_probe = np.array(fitted)[quartile(report.face_size, edges)]
        everyone = np.ones(len(report.face_size), bool)
        before, after = report.rates(everyone, t), report.rates(everyone, per_probe)
        # One threshold spending what the quartiles' spend on half 1: the fair comparison.
        same_far = report.rates(everyone, threshold_at_far(report, everyone, after[0]))
        print(
            f"  face-size thresholds {np.round(fitted, 4).tolist()} (half 0's FAR {far0:.1e} "
            f"each): half 1 FAR {before[0]:.1e} -> {after[0]:.1e}, TAR {before[1]:.1%} -> "
            f"{after[1]:.1%}; one threshold at that FAR: TAR {same_far[1]:.1%}"
        )


if __name__ == "__main__":
    main()
