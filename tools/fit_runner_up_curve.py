"""Fit the shipped runner-up curve (models.thresholds.RunnerUpCurve) on HALF of LFW dev-train.

    python tools/fit_runner_up_curve.py [--flip-tta] [--lfw ../shared/lfw-devtrain] [--out FILE]

LFW dev-train's people are split in two by a hash of their name (bench.lfw.person_half): the
curve is fitted on half 0 only, so that bench/accuracy.py reports it on half 1, people it never
saw. For each gallery size N of the grid, several random galleries of N half-0 people (one
photo each) are searched by one photo of every other half-0 person (strangers); tau(N, FPIR) is
the score that accepts that share of them, with what the service does beside it: a face is
accepted under the looser of the distance-only threshold (the FAR curve's for N) and the
runner-up one, never at or over the backbone's 1:1 threshold, and only with its runner-up at
least the ambiguity margin farther. The
runner-up weight is the one, of a few, that recognises most half-0 check-ins at 500 enrolled
and 1% of strangers.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import EmbeddingCache, RollcallPipeline, embed_all, lfw_protocol, person_half
from models.backbones import calibrated, get_backbone
from models.identification import DEFAULT_AMBIGUITY_MARGIN
from models.thresholds import FarCurve, RunnerUpCurve, runner_up_scores

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = (2, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000)
MAX_FPIR = (0.001, 0.003, 0.01, 0.03, 0.1)
WEIGHTS = (1.0, 1.5, 2.0, 3.0)
# Each tau is fitted to accept this share of the FPIR asked for: the simulated strangers are
# mostly people with one photo in LFW, and LFW's people with several (the galleries of
# bench/accuracy.py) took 1.6% of strangers in at 500 where the simulation said 1%.
SAFETY = 0.6
NO_TAU = -10.0  # a tau no score reaches: the distance-only rule spends the whole FPIR
# Random galleries per N, their strangers' scores pooled: which people a small gallery holds
# moves its tau more than sampling does (4 galleries of 30 gave 0.07 where 20 people gave
# 0.14), so small galleries are drawn many times: about 3,000 enrolled people in all per N.
GALLERY_PEOPLE = 3000
MIN_REPEATS = 4
# A gallery larger than half 0's people leave beside their strangers (N = 2,000: half 0 has
# about 2,000 people) holds this many of them out as strangers and is filled with the other
# photos of the people it enrolls (a second template of a student): the nearest and runner-up
# are then taken among people, not templates, as the service's runner-up is the nearest other
# student. Half 1's people are never used: bench/accuracy.py reports on them.
FILL_STRANGERS = 500
Fill = tuple[np.ndarray, np.ndarray]  # other photos' embeddings, and the row of `people` of each


def pairwise(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """(Q, G) euclidean distances, by |q|^2 + |g|^2 - 2 q.g (fast; ample for fitting)."""
    squared = (queries**2).sum(1)[:, None] + (gallery**2).sum(1)[None] - 2 * queries @ gallery.T
    return np.sqrt(np.maximum(squared, 0))


def nearest_two(gallery: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each query's nearest gallery row, its distance and the runner-up's (inf: none)."""
    distances = pairwise(queries, gallery)
    if distances.shape[1] == 1:
        return np.zeros(len(queries), int), distances[:, 0], np.full(len(queries), np.inf)
    order = np.argpartition(distances, 1, axis=1)[:, :2]
    two = np.take_along_axis(distances, order, 1)
    swap = two[:, 1] < two[:, 0]
    two[swap] = two[swap][:, ::-1]
    order[swap] = order[swap][:, ::-1]
    return order[:, 0], two[:, 0], two[:, 1]


@dataclass(frozen=True)
class Limits:
    """What the service does beside the runner-up rule, for one backbone's distances."""

    far_curve: FarCurve  # the distance-only rule
    ceiling: float  # the 1:1 threshold no face may pass
    margin: float = DEFAULT_AMBIGUITY_MARGIN


def admissible_scores(
    d1: np.ndarray, d2: np.ndarray, weight: float, n: int, fpir: float, limits: Limits
) -> np.ndarray:
    """The score where the service's other conditions would let the face through, else inf;
    -inf where the distance-only threshold of N people accepts it anyway (the service takes
    the looser of the two thresholds: the runner-up one only ever adds recognitions)."""
    ok = (d1 < limits.ceiling) & (d2 - d1 >= limits.margin)
    distance_only = limits.far_curve.threshold_for(n, fpir, limits.ceiling)
    scores = np.where(ok, runner_up_scores(d1, d2, weight), np.inf)
    return np.where(ok & (d1 < distance_only), -np.inf, scores)


def tau_at(scores: np.ndarray, fpir: float, ceiling: float) -> float:
    """The score that accepts (strictly below) at most `fpir` of these strangers (those at
    -inf are accepted whatever tau is: when they are that many already, tau adds none)."""
    ordered = np.sort(scores)
    k = math.floor(fpir * len(ordered))
    if k >= len(ordered):
        return ceiling
    return float(np.clip(ordered[k], NO_TAU, ceiling))


def stranger_scores(
    people: np.ndarray,
    n: int,
    weight: float,
    fpirs: tuple[float, ...],
    seed: int,
    limits: Limits,
    fill: Fill | None = None,
    gallery_people: int = GALLERY_PEOPLE,
) -> list[np.ndarray]:
    """For each FPIR, the pooled scores of strangers searched in random galleries of n."""
    rng = np.random.default_rng(seed)
    pooled: list[list[np.ndarray]] = [[] for _ in fpirs]
    for _ in range(max(MIN_REPEATS, math.ceil(gallery_people / n))):
        order = rng.permutation(len(people))
        if fill is not None and n > len(people) - FILL_STRANGERS:
            d1, d2 = filled_nearest_two(people, order, n, fill, rng)
        else:
            _, d1, d2 = nearest_two(people[order[:n]], people[order[n:]])
        for scores, fpir in zip(pooled, fpirs, strict=True):
            scores.append(admissible_scores(d1, d2, weight, n, fpir, limits))
    return [np.concatenate(scores) for scores in pooled]


def filled_nearest_two(
    people: np.ndarray, order: np.ndarray, n: int, fill: Fill, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Strangers' nearest and runner-up people in a gallery of n templates: FILL_STRANGERS
    people held out as strangers, every other person's photo enrolled, and other photos of
    those people filling it to n (a person's distance: the nearer of their templates)."""
    strangers, members = order[:FILL_STRANGERS], order[FILL_STRANGERS:]
    extras, owners = fill
    position = np.full(len(people), -1)
    position[members] = np.arange(len(members))
    usable = np.flatnonzero(position[owners] >= 0)
    wanted = n - len(members)
    if wanted > len(usable):
        raise ValueError(f"a gallery of {n} needs {wanted} other photos; there are {len(usable)}")
    chosen = rng.choice(usable, wanted, replace=False)
    queries = people[strangers]
    per_person = pairwise(queries, people[members]).T.copy()  # (members, strangers)
    np.minimum.at(per_person, position[owners[chosen]], pairwise(queries, extras[chosen]).T)
    two = np.sort(np.partition(per_person, 1, axis=0)[:2], axis=0)
    return two[0], two[1]


def recognised_at_500(enrolled, probes, owners, strangers, weight: float, limits: Limits) -> float:
    """Check-ins right at 500 enrolled, tau at 1% of these strangers (in sample)."""
    _, d1, d2 = nearest_two(enrolled, strangers)
    tau = tau_at(admissible_scores(d1, d2, weight, 500, 0.01, limits), SAFETY * 0.01,
                 limits.ceiling)  # fmt: skip
    best, d1, d2 = nearest_two(enrolled, probes)
    accepted = admissible_scores(d1, d2, weight, 500, 0.01, limits) < tau
    return float(np.mean(accepted & (best == owners)))


def fit_curve(
    people,
    enrolled,
    probes,
    owners,
    strangers,
    limits: Limits,
    source: str,
    fill: Fill | None = None,
    gallery_people: int = GALLERY_PEOPLE,
):
    """The runner-up curve of one backbone's embeddings: the weight that recognises most
    check-ins at 500 enrolled and 1% FPIR, and tau(N, FPIR) by simulation on `people` (and
    `fill`'s other photos of them where N needs more templates than they leave)."""
    rates = {w: recognised_at_500(enrolled, probes, owners, strangers, w, limits) for w in WEIGHTS}
    for w, rate in rates.items():
        print(f"weight {w:g}: {rate:.1%} of the check-ins right at 500 enrolled, 1% FPIR")
    weight = max(rates, key=rates.__getitem__)
    ceiling = limits.ceiling
    # Galleries the people (and fill) leave enough strangers for: without a fill, one of more
    # than all but FILL_STRANGERS people is not measured (left out of the grid: the curve
    # follows its last segment past it).
    most = len(people) - FILL_STRANGERS + (len(fill[0]) if fill is not None else 0)
    candidates = [n for n in CANDIDATES if n <= most or n == CANDIDATES[0]]
    if len(candidates) < len(CANDIDATES):
        print(f"N > {most}: not measured, {len(people)} people and no more photos to fill with")
    tau = np.zeros((len(candidates), len(MAX_FPIR)))
    for i, n in enumerate(candidates):
        scores = stranger_scores(
            np.asarray(people), n, weight, MAX_FPIR, n, limits, fill, gallery_people
        )
        tau[i] = [tau_at(s, SAFETY * f, ceiling) for s, f in zip(scores, MAX_FPIR, strict=True)]
    # tau grows with N (in a larger gallery a stranger's runner-up is nearer his best: a
    # smaller gap), and a dip against that trend is gallery-to-gallery noise. Each tau is
    # taken as at most every larger N's: the noise is removed in the safe direction only.
    # A filled gallery's NO_TAU (its distance-only rule spends the whole FPIR: dlib+faceres at
    # 2,000 people and 1%) is another measurement's "none", not a score: it bounds no smaller
    # N's tau (its scores do).
    filled = np.array([fill is not None and n > len(people) - FILL_STRANGERS for n in candidates])
    bounding = np.where(filled[:, None] & (tau == NO_TAU), np.inf, tau)
    tau = np.minimum(tau, np.minimum.accumulate(bounding[::-1], axis=0)[::-1])
    for n, row in zip(candidates, tau, strict=True):
        shown = "  ".join(f"{f:g}: {t:.3f}" for f, t in zip(MAX_FPIR, row, strict=True))
        print(f"N={n:5d}: {shown}")
    return RunnerUpCurve(
        weight=weight,
        candidates=np.array(candidates, np.float64),
        max_fpir=np.array(MAX_FPIR),
        tau=tau,
        source=source,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=REPO.parent / "shared" / "lfw-devtrain")
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    parser.add_argument("--flip-tta", action="store_true", help="mirror-averaged embeddings")
    parser.add_argument("--gallery-people", type=int, default=GALLERY_PEOPLE,
                        help="people in all per N (the mirrored curve: 12000)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="default: the backbone's runner-up curve file")
    args = parser.parse_args()
    spec = calibrated(get_backbone("dlib-resnet"), args.flip_tta)
    args.out = args.out or spec.runner_up_curve
    protocol = lfw_protocol(args.lfw, 0, 10**6, 10**6)
    pipeline = RollcallPipeline(args.flip_tta)
    half = {name: photos for name, photos in protocol.photos.items() if person_half(name) == 0}
    jobs = {(photo, "full") for photos in half.values() for photo in photos}
    lookup = embed_all(pipeline, EmbeddingCache(args.cache, pipeline.cache_key), jobs,
                       protocol.root, "LFW half 0")  # fmt: skip

    # One photo a person for the simulated galleries and strangers.
    people = [r.embedding for p in half.values() if (r := lookup(p[0])) is not None]
    # Weight: 500 people with 2+ photos enrolled, their other photos checked in.
    several = [n for n in protocol.gallery if n in half and lookup(half[n][0]) is not None]
    enrolled = np.stack([lookup(half[n][0]).embedding for n in several[:500]])
    probes, owners = [], []
    for index, name in enumerate(several[:500]):
        for photo in half[name][1:5]:
            if (found := lookup(photo)) is not None:
                probes.append(found.embedding)
                owners.append(index)
    strangers = np.stack([lookup(half[n][-1]).embedding for n in several[500:]] + [
        r.embedding for n, p in half.items() if len(p) == 1 and (r := lookup(p[0])) is not None
    ])  # fmt: skip
    limits = Limits(FarCurve.load(spec.far_curve), spec.threshold)
    source = (
        f"../shared/lfw-devtrain, half 0 of its people ({len(people)}), "
        f"galleries of {args.gallery_people} people in all per N (tools/fit_runner_up_curve.py)"
    )
    source += ", mirror-averaged embeddings" if args.flip_tta else ""
    curve = fit_curve(people, enrolled, np.stack(probes), np.array(owners), strangers, limits,
                      source, gallery_people=args.gallery_people)  # fmt: skip
    curve.save(args.out)
    print(f"weight {curve.weight:g}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
