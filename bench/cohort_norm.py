"""Cohort score normalisation (adaptive S-norm) beside the shipped rule, on the same searches.

    python bench/cohort_norm.py [--lfw ../shared/lfw-devtrain] [--cache out/bench-cache]

A study, not shipped. A check-in's nearest enrolled student at distance d is scored

    z = ((mu_q - d) / sigma_q + (mu_t - d) / sigma_t) / 2

where mu and sigma are the mean and spread of the k smallest distances of the check-in (q) and
of the template (t) to a cohort of impostors: either a fixed cohort of half-0 people (one photo
each, never enrolled) or the gallery itself (the template's and the check-in's distances to the
other enrolled students). The face is accepted when z > theta(N), with the service's other
conditions kept (d under the 1:1 threshold, the runner-up at least the ambiguity margin farther).

Everything is fitted on half 0 of LFW dev-train (bench.lfw.person_half): the cohort people,
k (the one of a few that recognises most half-0 check-ins at 500 enrolled and 1% of strangers),
and theta(N) (galleries of N half-0 people searched by other half-0 people as strangers, at
SAFETY x 1% of them, as tools/fit_runner_up_curve.py fits tau). It is reported on half 1 at
30/100/500/2,000 enrolled beside the shipped rule (bench/accuracy.py's whole-gallery rows).

First run (the cohort: 800 half-0 people; k = 200 chosen on half 0), check-ins right / strangers
accepted on half 1, shipped rule then S-norm on the half-0 cohort: 30 enrolled 72.9% / 0.2%,
88.1% / 0.6%; 100: 65.9% / 0.2%, 74.9% / 0.4%; 500: 66.1% / 0.2%, 70.5% / 0.6%; 1,512 (all of
half 1's people): 62.2% / 0.4%, 66.0% / 1.0%. Wrong persons: the shipped rule 0.09% at 500 and
0.08% at 1,512, S-norm none. The gallery as its own cohort does worse at 30 and 100 (44%, 51%).
Other draws of half 1's galleries and strangers (`--seed 1`, `--seed 2`) keep S-norm ahead at
every size (500: 72.4% against 68.4%, 71.9% against 67.4%) but `--seed 1` lets 1.6% of strangers
in at 500 and 1.4% at 1,512 (the shipped rule: 1.0%, 0.4%; and 3.2% at 30): at SAFETY 0.6 it
does not hold 1% on every draw, nor at `--safety 0.4` or `0.3` (seed 1: 1.2-1.4% at 500 and
1,512; theta past N = 500 is extrapolated from the last segment's slope, which is noisy). Not
in the service (its rule, rosters and retry band are distances).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import SHIPPED_FLIP_TTA, EmbeddingCache, RollcallPipeline, embed_all, lfw_protocol
from bench.open_set import face_thresholds, searches, tally
from models.identification import shipped_rule

SHARED = Path(__file__).resolve().parents[2] / "shared"
SIZES = (30, 100, 200, 300, 500)  # theta is fitted at these N; larger N follow the last slope
KS = (5, 20, 50, 100, 200)
COHORT = 800  # half-0 one-photo people kept out of the simulation, the fixed cohort
SAFETY = 0.6  # as tools/fit_runner_up_curve.py
FPIR = 0.01
REPEATS_PEOPLE = 3000


def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0))


def top_stats(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of each row's k smallest finite distances (each row holds at most one
    inf: the query's own nearest, or the template itself, left out of the gallery cohort)."""
    k = min(k, distances.shape[1] - int(np.isinf(distances).any()))
    nearest = np.partition(distances, k - 1, axis=1)[:, :k]
    return nearest.mean(1), np.maximum(nearest.std(1), 1e-6)


def scores(
    gallery: np.ndarray,
    queries: np.ndarray,
    cohort: np.ndarray | None,
    k: int,
    ceiling: float,
    margin: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's nearest template and its z (-inf where the service's other conditions
    refuse it). `cohort` None: the gallery itself is the cohort."""
    d = pairwise(queries, gallery)
    order = np.argsort(d, axis=1)[:, :2]
    best = order[:, 0]
    d1 = d[np.arange(len(d)), best]
    d2 = d[np.arange(len(d)), order[:, 1]] if d.shape[1] > 1 else np.full(len(d), np.inf)
    if cohort is None:
        others = d.copy()
        others[np.arange(len(d)), best] = np.inf  # the check-in against everyone else
        mu_q, sigma_q = top_stats(others, k)
        templates = pairwise(gallery, gallery)
        np.fill_diagonal(templates, np.inf)
        mu_t, sigma_t = top_stats(templates, k)
    else:
        mu_q, sigma_q = top_stats(pairwise(queries, cohort), k)
        mu_t, sigma_t = top_stats(pairwise(gallery, cohort), k)
    z = ((mu_q - d1) / sigma_q + (mu_t[best] - d1) / sigma_t[best]) / 2
    ok = (d1 < ceiling) & (d2 - d1 >= margin)
    return best, np.where(ok, z, -np.inf)


def theta_at(stranger_z: np.ndarray, fpir: float) -> float:
    """The z that accepts (strictly above) at most `fpir` of these strangers."""
    ordered = np.sort(stranger_z)[::-1]
    return float(ordered[math.floor(fpir * len(ordered))])


def fit_thetas(
    people: np.ndarray, cohort, k: int, ceiling: float, margin: float, safety: float
) -> np.ndarray:
    rng = np.random.default_rng(0)
    thetas = []
    for n in SIZES:
        pooled = []
        for _ in range(max(4, math.ceil(REPEATS_PEOPLE / n))):
            order = rng.permutation(len(people))
            _, z = scores(people[order[:n]], people[order[n:]], cohort, k, ceiling, margin)
            pooled.append(z)
        thetas.append(theta_at(np.concatenate(pooled), safety * FPIR))
    # More people, more chances for a stranger: theta never falls as N grows.
    return np.maximum.accumulate(np.array(thetas))


def theta_for(thetas: np.ndarray, n: int) -> float:
    logs = np.log(SIZES)
    if math.log(n) <= logs[-1]:
        return float(np.interp(math.log(n), logs, thetas))
    slope = max((thetas[-1] - thetas[-2]) / (logs[-1] - logs[-2]), 0.0)
    return float(thetas[-1] + slope * (math.log(n) - logs[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    parser.add_argument("--cache-key", help="default: the shipped pipeline's (code digest)")
    parser.add_argument("--galleries", type=int, nargs="+", default=[30, 100, 500, 2000])
    parser.add_argument("--probes", type=int, default=4, help="check-ins per person, half 1")
    parser.add_argument("--fit-probes", type=int, default=1, help="the same, half 0 (k's fit)")
    parser.add_argument("--strangers", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0, help="half 1's galleries and strangers")
    parser.add_argument("--safety", type=float, default=SAFETY, help="theta at this x 1%%")
    args = parser.parse_args()
    rule = shipped_rule(flip_tta=SHIPPED_FLIP_TTA)
    ceiling, margin = rule.ceiling, rule.margin
    pipeline = RollcallPipeline()
    cache = EmbeddingCache(args.cache, args.cache_key or pipeline.cache_key)

    # Half 0: the cohort, the simulation's people, and 500 enrolled with check-ins for k.
    zero = lfw_protocol(args.lfw, 0, 10**6, 10**6, 0)
    jobs = {(p, "full") for n in zero.gallery + zero.strangers + zero.distractors
            for p in zero.photos[n][: 1 + args.fit_probes]}  # fmt: skip
    lookup0 = embed_all(pipeline, cache, jobs, zero.root, "LFW half 0")
    singles = [n for n in zero.strangers if lookup0(zero.photos[n][0]) is not None]
    cohort = np.stack([lookup0(zero.photos[n][0]).embedding for n in singles[:COHORT]])
    simulated = [n for n in zero.gallery + singles[COHORT:] if lookup0(zero.photos[n][0])]
    people = np.stack([lookup0(zero.photos[n][0]).embedding for n in simulated])
    enrolled_names = [n for n in zero.gallery if lookup0(zero.photos[n][0])][:500]
    enrolled = np.stack([lookup0(zero.photos[n][0]).embedding for n in enrolled_names])
    probes, owners = [], []
    for index, name in enumerate(enrolled_names):
        for photo in zero.probes(name, args.fit_probes):
            if (found := lookup0(photo)) is not None:
                probes.append(found.embedding)
                owners.append(index)
    outside = [n for n in simulated if n not in set(enrolled_names)]
    strangers0 = np.stack([lookup0(zero.photos[n][0]).embedding for n in outside])
    print(f"half 0: cohort {len(cohort)}, simulation {len(people)} people, "
          f"{len(probes)} check-ins of 500 enrolled, {len(strangers0)} strangers")  # fmt: skip

    fitted = {}
    for label, pool in (("half-0 cohort", cohort), ("gallery cohort", None)):
        rates = {}
        for k in KS:
            _, zs = scores(enrolled, strangers0, pool, k, ceiling, margin)
            theta = theta_at(zs, args.safety * FPIR)
            best, zp = scores(enrolled, np.stack(probes), pool, k, ceiling, margin)
            rates[k] = float(np.mean((zp > theta) & (best == np.array(owners))))
            print(f"  {label}, k={k}: {rates[k]:.1%} right at 500 (half 0, in sample)")
        k = max(rates, key=rates.__getitem__)
        thetas = fit_thetas(people, pool, k, ceiling, margin, args.safety)
        print(f"  {label}: k={k}, theta at N={SIZES}: {np.round(thetas, 3).tolist()}")
        fitted[label] = (pool, k, thetas)

    # Half 1: the whole-gallery searches of bench/accuracy.py.
    one = lfw_protocol(args.lfw, args.seed, max(args.galleries), args.strangers, 1)
    jobs = {(one.enrolled_photo(p), "full") for p in one.enrolled(max(args.galleries))}
    for person in one.gallery:
        jobs |= {(p, "full") for p in one.photos[person][: 1 + args.probes]}
    jobs |= {(one.photos[s][0], "full") for s in one.strangers}
    lookup1 = embed_all(pipeline, cache, jobs, one.root, "LFW half 1")
    header = f"{'gallery':>8}  {'rule':<28}{'right':>8}{'wrong':>8}{'strangers in':>14}"
    print("\nHalf 1, whole gallery\n" + header)
    for asked in args.galleries:
        size = len(one.enrolled(asked))
        found = searches(one, lookup1, size, args.probes)
        row = tally(found, face_thresholds(rule, size), rule.margin)
        print(f"{size:>8}  {'shipped (runner-up curve)':<28}{row['right']:>8.1%}"
              f"{row['wrong']:>8.2%}{row['strangers_accepted']:>14.2%}")  # fmt: skip
        people1 = [p for p in one.enrolled(size) if lookup1(one.enrolled_photo(p))]
        gallery = np.stack([lookup1(one.enrolled_photo(p)).embedding for p in people1])
        checkins = [(p, x) for p in one.gallery[:size] for x in one.probes(p, args.probes)]
        checkins += [(s, one.photos[s][0]) for s in one.strangers]
        known = [(who, lookup1(x)) for who, x in checkins]
        names = np.array(people1)
        with_face = [(who, r.embedding) for who, r in known if r is not None]
        queries = np.stack([e for _, e in with_face])
        identity = np.array([who for who, _ in with_face])
        is_known = np.isin(identity, names)
        # As bench/accuracy.py counts: a check-in (face or not) of an enrolled person is known,
        # any other a stranger's.
        known_total = sum(who in set(people1) for who, _ in checkins)
        stranger_total = len(checkins) - known_total
        for label, (pool, k, thetas) in fitted.items():
            best, z = scores(gallery, queries, pool, k, ceiling, margin)
            accepted = z > theta_for(thetas, size)
            right = int(np.sum(accepted & is_known & (names[best] == identity)))
            wrong = int(np.sum(accepted & is_known & (names[best] != identity)))
            strangers_in = int(np.sum(accepted & ~is_known))
            print(f"{size:>8}  {'S-norm, ' + label:<28}{right / known_total:>8.1%}"
                  f"{wrong / known_total:>8.2%}{strangers_in / stranger_total:>14.2%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
