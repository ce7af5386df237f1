"""The retry band's evidence: which band, for one frame and for a burst, at each search size.

    python bench/retry_band.py --half 0            # the people the band is chosen on
    python bench/retry_band.py --half 1            # reported on (nobody the fits saw)
    python bench/retry_band.py --half 0 --backbone dlib+faceres --burst-bands 0.03 0.04 0.05

`--backbone dlib+faceres`: the fusion (bench/fusion.py: its rule, its parts' cached embeddings,
each part of a burst fused on its own), whose own bands (models.identification.shipped_retry_bands)
were chosen so; `--burst-bands` tries those burst bands too (default: 0.03 only).

It reads the Rollcall pipeline's embeddings from `out/bench-cache` (bench/accuracy.py fills it
with half 1's photos) and leaves out photos the cache lacks; `--embed` embeds them first (half
0's: about 2,800 photos, a few minutes).

Check-ins as the service decides them (bench/rosters.py's `_answers`, the shipped rule):

- whole gallery of N (30 ... 2,000; past this half's people, the other half's one-photo people
  are enrolled too): each enrolled person's photos 2-5 are one-frame check-ins (as
  bench/accuracy.py counts them); photos 2-5 fused (a burst) and the kiosk (each of photos 2-5
  first; on `retry`, the burst) are per person. Strangers: 500 one-photo people (one frame), and
  people with 3+ photos outside the gallery (one frame, burst, kiosk: photos 1-4); where the
  half has none left (N >= 1,000), the other half's;
- a roster of 30 in 500 (16 rosters, the next roster's people as enrolled non-members, as
  bench/rosters.py).

The kiosk figure is what a student at the door meets: the kiosk page sends one frame and, on
`retry`, a burst (that frame and two more; here photos 2-5 fused stand for it); a second `retry`
is shown and held, nothing marked. LFW's other photos of a person, fused, are harder than video
frames a second apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fusion, rosters
from bench.accuracy import finished_faceres
from bench.lfw import (
    SHIPPED_FLIP_TTA,
    EmbeddingCache,
    LfwProtocol,
    RollcallPipeline,
    embed_all,
    faceres_cache_key,
    lfw_protocol,
    rollcall_cache_key,
)
from models.backbones import get_backbone
from models.burst import fuse
from models.fusion import part_lengths
from models.identification import (
    SHIPPED_RETRY_BANDS,
    DecisionRule,
    RetryBand,
    RetryBands,
    shipped_retry_bands,
    shipped_rule,
)

LFW = Path(
    os.environ.get("ROLLCALL_LFW_DIR", Path(__file__).resolve().parents[2] / "shared/lfw-devtrain")
)
SIZES = (30, 100, 500, 1000, 2000)
BEFORE = "before: 0.03 both sides, any frames"


@dataclass(frozen=True)
class Fusing:
    """How a backbone's burst is fused (models.burst.fuse): its L2 and its parts' lengths."""

    l2: bool = False  # dlib-resnet's descriptors are not L2-normalised (models/backbones)
    parts: tuple[int, ...] = ()

    def __call__(self, embeddings: list[np.ndarray]) -> np.ndarray:
        return fuse(np.stack(embeddings), self.l2, self.parts)


def fusing(backbone: str) -> Fusing:
    spec = get_backbone(backbone)
    return Fusing(spec.l2_normalize, part_lengths(spec))


@dataclass(frozen=True)
class Case:
    """One check-in: whose, and its decision's inputs, which no band changes."""

    kind: str  # member, non-member, stranger
    identity: str
    inputs: rosters.DecisionInputs


def _case(kind, identity, query, gallery: rosters.Enrolled, mask, rule: DecisionRule) -> Case:
    return Case(kind, identity, rosters.decision_inputs(query, gallery, mask, rule))


def answer(case: Case, margin: float, band: RetryBand) -> tuple[str, str]:
    return rosters.decision(case.inputs, margin, band)


@dataclass(frozen=True)
class Person:
    """A person's check-ins at one search: each photo alone (a first frame), and the burst
    (every photo fused) a `retry` is followed by."""

    singles: list[Case]
    burst: Case | None


@dataclass
class Scenario:
    label: str
    frames: list[Case]  # one-frame check-ins (every photo; one-photo strangers too)
    people: list[Person]  # members, non-members and strangers of 2+ photos


def _embeddings(lookup, paths) -> list[np.ndarray]:
    return [r.embedding for p in paths if (r := lookup(p)) is not None]


def _person(kind, identity, embeddings, gallery, mask, rule, fused: Fusing) -> Person | None:
    if not embeddings:
        return None
    singles = [_case(kind, identity, e, gallery, mask, rule) for e in embeddings]
    burst = (
        _case(kind, identity, fused(embeddings), gallery, mask, rule)
        if len(embeddings) >= 2
        else None
    )
    return Person(singles, burst)


def whole_gallery(
    protocol: LfwProtocol, other: LfwProtocol, lookup, size, rule, fused: Fusing = Fusing()
) -> Scenario:
    people = [p for p in protocol.enrolled(size) if lookup(protocol.enrolled_photo(p))]
    gallery = rosters.Enrolled(
        people, np.stack([lookup(protocol.enrolled_photo(p)).embedding for p in people])
    )
    enrolled = set(people)
    frames, persons = [], []
    for person in [p for p in protocol.gallery[:size] if p in enrolled]:
        embeddings = _embeddings(lookup, protocol.probes(person, 4))
        if (found := _person("member", person, embeddings, gallery, None, rule, fused)) is not None:
            persons.append(found)
            frames += found.singles
    for stranger in protocol.strangers:
        frames += [
            _case("stranger", stranger, e, gallery, None, rule)
            for e in _embeddings(lookup, protocol.photos[stranger][:1])
        ]
    burst_strangers = [
        p for p in protocol.gallery if p not in enrolled and len(protocol.photos[p]) >= 3
    ]
    if not burst_strangers:  # the other half's people (seen by the fits: strangers only)
        burst_strangers = [p for p in other.gallery if len(other.photos[p]) >= 3]
    for stranger in burst_strangers[:100]:
        embeddings = _embeddings(lookup, protocol.photos[stranger][:4])
        if found := _person("stranger", stranger, embeddings, gallery, None, rule, fused):
            persons.append(found)
            frames += found.singles
    return Scenario(f"whole gallery {len(people)}", frames, persons)


def roster_scenario(protocol: LfwProtocol, lookup, rule, fused: Fusing = Fusing()) -> Scenario:
    gallery = rosters.enrolled(protocol, lookup)
    order = np.random.default_rng(1).permutation(len(gallery.names))
    groups = [order[i * rosters.ROSTER : (i + 1) * rosters.ROSTER] for i in range(rosters.ROSTERS)]
    enrolled = set(gallery.names)
    strangers = [p for p in protocol.gallery if p not in enrolled and len(protocol.photos[p]) >= 3]
    strangers = [(s, _embeddings(lookup, protocol.photos[s][:4])) for s in strangers[:100]]
    frames, persons = [], []
    for index, members in enumerate(groups):
        mask = np.zeros(len(gallery.names), bool)
        mask[members] = True
        others = groups[(index + 1) % rosters.ROSTERS]
        checkins = [("member", gallery.names[m]) for m in members]
        checkins += [("non-member", gallery.names[m]) for m in others]
        for kind, person in checkins:
            embeddings = _embeddings(lookup, protocol.probes(person, 4))
            if found := _person(kind, person, embeddings, gallery, mask, rule, fused):
                persons.append(found)
                frames += found.singles
        for stranger, embeddings in strangers:
            if (
                found := _person("stranger", stranger, embeddings, gallery, mask, rule, fused)
            ) is not None:
                persons.append(found)
                frames += found.singles
    return Scenario(f"roster {rosters.ROSTER} of {len(gallery.names)}", frames, persons)


Outcome = tuple[str, str]  # (decision, about whom)


def _tally(outcomes: list[tuple[Case, Outcome]]) -> dict[str, dict[str, float]]:
    counts: dict[str, dict[str, float]] = {}
    for case, (decision, who) in outcomes:
        row = counts.setdefault(
            case.kind, {"n": 0, "right": 0, "wrong": 0, "retry": 0, "marked": 0}
        )
        row["n"] += 1
        row["retry"] += decision == "retry"
        # A stranger named (present or not_on_roster) is a false mark; a non-member only present.
        if decision == "present" or (decision == "not_on_roster" and case.kind == "stranger"):
            row["marked"] += case.kind != "member"
        if decision == "present" and case.kind == "member":
            row["right" if who == case.identity else "wrong"] += 1
    return counts


def measure(scenario: Scenario, margin: float, bands: RetryBands) -> dict[str, dict]:
    """Counts for one frame (every photo), the burst and the kiosk."""
    single, burst = bands.for_frames(1), bands.for_frames(2)
    out = {
        "one frame": _tally([(c, answer(c, margin, single)) for c in scenario.frames]),
        "burst": _tally(
            [(p.burst, answer(p.burst, margin, burst)) for p in scenario.people if p.burst]
        ),
    }
    kiosk = []
    for p in scenario.people:
        for case in p.singles:
            first = answer(case, margin, single)
            if first[0] == "retry":
                first = answer(p.burst, margin, burst) if p.burst else ("unknown", "")
            kiosk.append((case, first))
    out["kiosk"] = _tally(kiosk)
    return out


def candidates(
    bursts: tuple[float, ...] = (0.03,), backbone: str = "dlib-resnet", mirrored: bool = False
) -> dict[str, RetryBands]:
    """The bands tried: the former one, none, the shipped ones (dlib-resnet's and, for another
    backbone, its own), and one frame's below / above the threshold with each burst band (both
    sides; dlib-resnet's stays 0.03: bench/rosters.py's evidence)."""
    both = RetryBand(0.03, 0.03)
    out = {BEFORE: RetryBands(both, both), "no band": RetryBands()}
    for burst in bursts:
        for below in (0.0, 0.01, 0.02, 0.025, 0.03, 0.04):
            for above in (0.0, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08):
                name = f"one frame {below:.3f} below / {above:.2f} above, burst {burst:.2f}"
                out[name] = RetryBands(RetryBand(below, above), RetryBand(burst, burst))
    shipped = SHIPPED_RETRY_BANDS.one_frame
    out[f"plain backbones': one frame {shipped.below:.3f} / {shipped.above:.2f}"] = (
        SHIPPED_RETRY_BANDS
    )
    own = shipped_retry_bands(backbone, mirrored)
    if own != SHIPPED_RETRY_BANDS:
        name = f"{backbone}+flip" if mirrored else backbone
        out[f"{name}'s own: {_describe(own)}"] = own
    return out


def _describe(bands: RetryBands) -> str:
    one, burst = bands.one_frame, bands.burst
    return f"one frame {one.below:.3f} / {one.above:.2f}, burst {burst.below:.2f}"


def _cached_lookup(cache: EmbeddingCache, root: Path) -> Callable:
    def lookup(path: Path, variant: str = "full"):
        return cache.results.get(f"{path.relative_to(root).as_posix()}|{variant}")

    return lookup


def _jobs(protocol: LfwProtocol, other: LfwProtocol) -> set[tuple[Path, str]]:
    """Every photo the scenarios look up."""
    paths = [x for p in protocol.gallery for x in protocol.photos[p][:5]]
    paths += [protocol.photos[p][0] for p in protocol.strangers + protocol.distractors]
    paths += [x for p in other.gallery if len(other.photos[p]) >= 3 for x in other.photos[p][:4]]
    return {(x, "full") for x in paths}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=LFW)
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    parser.add_argument("--half", type=int, default=1, choices=(0, 1))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--embed", action="store_true", help="embed the photos the cache lacks")
    parser.add_argument("--backbone", choices=("dlib-resnet", fusion.NAME), default="dlib-resnet")
    parser.add_argument("--burst-bands", type=float, nargs="+", default=[0.03])
    parser.add_argument("--flip-tta", action=argparse.BooleanOptionalAction,
                        default=SHIPPED_FLIP_TTA, help="dlib-resnet mirror-averaged")  # fmt: skip
    args = parser.parse_args()
    protocol = lfw_protocol(args.lfw, 0, 10**6, 500, args.half)
    other = lfw_protocol(args.lfw, 0, 10**6, 0, 1 - args.half)
    # Past this half's people: the other half's one-photo people, enrolled (no check-ins).
    protocol = dataclasses.replace(protocol, distractors=protocol.distractors + other.distractors)
    flip_tta = args.flip_tta and args.backbone == "dlib-resnet"  # a fusion's part: plain
    cache = EmbeddingCache(args.cache, rollcall_cache_key(flip_tta=flip_tta))
    jobs = _jobs(protocol, other)
    if args.embed:
        if args.backbone != "dlib-resnet":
            raise SystemExit("--embed embeds dlib-resnet's only: bench/accuracy.py embeds faceres")
        embed_all(RollcallPipeline(flip_tta), cache, jobs, protocol.root, "LFW")
    caches = [cache]
    if args.backbone == fusion.NAME:
        caches.append(EmbeddingCache(args.cache, faceres_cache_key()))
    for each in caches:
        missing = sum(not each.has(protocol.root, path, variant) for path, variant in jobs)
        if missing == len(jobs):
            raise SystemExit(f"{each.path} holds none of these photos: run with --embed")
        print(f"{len(jobs) - missing} photos from {each.path}, {missing} it lacks left out")
    lookup = _cached_lookup(cache, protocol.root)
    rule = shipped_rule(flip_tta=flip_tta)
    if args.backbone == fusion.NAME:
        faceres = finished_faceres(_cached_lookup(caches[1], protocol.root))
        lookup, rule = fusion.fused_lookup(lookup, faceres), fusion.fused_rule()
    fused = fusing(args.backbone)
    scenarios = [whole_gallery(protocol, other, lookup, n, rule, fused) for n in args.sizes]
    scenarios.append(roster_scenario(protocol, lookup, rule, fused))
    report = {}
    for name, bands in candidates(tuple(args.burst_bands), args.backbone, flip_tta).items():
        report[name] = {s.label: measure(s, rule.margin, bands) for s in scenarios}
    print_report(report, args.half)
    print(f"\nthe rule's choice on half {args.half}: {choose(report)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


def _wrong(report: dict, name: str, mode: str) -> list[int]:
    return [int(m[mode]["member"]["wrong"]) for m in report[name].values()]


def _strangers_ok(report: dict, name: str, modes=("one frame", "kiosk")) -> bool:
    """Strangers marked at most 1% in every search, one frame and kiosk (or `modes`)."""
    rows = [m[mode].get("stranger") for m in report[name].values() for mode in modes]
    return all(r["marked"] <= 0.01 * r["n"] for r in rows if r)


def choose(report: dict) -> str:
    """How the shipped bands were chosen. A burst's (dlib-resnet's: 0.03, the only one tried):
    the narrowest tried whose bursts and kiosk mark no more wrong people at any size than the
    widest tried, and whose bursts mark at most 1% of strangers in every search (as one
    frame's side under the threshold, below). Then one frame's, with it: the narrowest side under
    the threshold whose one-frame check-ins mark no more wrong people than the former band at
    any size, then the widest side over it whose kiosk marks no more wrong people than the former
    band's kiosk; strangers at most 1% throughout."""
    grid = [n for n in report if n.startswith("one frame ")]
    side = lambda n, i: float(n.split()[2 + 3 * i])  # noqa: E731  "one frame B below / A above"
    burst_of = lambda n: float(n.split()[8])  # noqa: E731  "..., burst W"
    before_one, before_kiosk = _wrong(report, BEFORE, "one frame"), _wrong(report, BEFORE, "kiosk")

    def no_worse(name: str, mode: str, before: list[int]) -> bool:
        return all(w <= b for w, b in zip(_wrong(report, name, mode), before, strict=True))

    bursts = sorted({burst_of(n) for n in grid})
    # Each burst band with the former band's one frame (0.03 both sides), for the kiosk's figure.
    by_burst = {
        b: next((n for n in grid if burst_of(n) == b and side(n, 0) == side(n, 1) == 0.03),
                next(n for n in grid if burst_of(n) == b))
        for b in bursts
    }  # fmt: skip
    widest = by_burst[bursts[-1]]
    passing = [
        b for b, n in by_burst.items()
        if _strangers_ok(report, n, ("burst",)) and all(
            no_worse(n, mode, _wrong(report, widest, mode)) for mode in ("burst", "kiosk"))
    ]  # fmt: skip
    burst = passing[0] if passing else bursts[-1]
    said = f"burst {burst}" + ("" if passing else " (none tried keeps bursts' strangers <= 1%)")
    grid = [n for n in grid if burst_of(n) == burst]
    unders = sorted({side(n, 0) for n in grid})
    under = next(
        (u for u in unders if any(side(n, 0) == u and no_worse(n, "one frame", before_one)
                                  for n in grid)), None,
    )  # fmt: skip
    if under is None:
        return f"{said}; none of the grid marks as few wrong people as the former band"
    kept = [n for n in grid if side(n, 0) == under and no_worse(n, "kiosk", before_kiosk)]
    overs = [side(n, 1) for n in kept if _strangers_ok(report, n)]
    if not kept:
        return f"{said}; {under} under the threshold; no side over it keeps the kiosk's wrong marks"
    if not overs:
        why = "not even the former band" if not _strangers_ok(report, BEFORE) else "none"
        return (
            f"{said}; {under} under the threshold; every side over it marks over 1% of strangers "
            f"somewhere ({why} keeps them under)"
        )
    return f"{said}; one frame {under} under the threshold, {max(overs)} over it"


def _share(row: dict | None, key: str) -> str:
    if not row or not row["n"]:
        return "-"
    return f"{row[key] / row['n']:.1%}"


def print_report(report: dict, half: int) -> None:
    print(f"half {half}: right / wrong / retry of members; strangers (and non-members) marked")
    for name, by_scenario in report.items():
        print(f"\n{name}")
        for label, modes in by_scenario.items():
            cells = []
            for mode in ("one frame", "burst", "kiosk"):
                m = modes[mode]
                member, stranger, non = m.get("member"), m.get("stranger"), m.get("non-member")
                cell = (
                    f"{_share(member, 'right')} / {int(member['wrong']) if member else '-'} / "
                    f"{_share(member, 'retry')} s {_share(stranger, 'marked')}"
                )
                if non:
                    cell += f" nm {_share(non, 'marked')}"
                cells.append(f"{mode}: {cell}")
            print(f"  {label:<22} " + " | ".join(cells))


if __name__ == "__main__":
    raise SystemExit(main())
