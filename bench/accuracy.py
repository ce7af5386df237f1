"""Recognition accuracy: Rollcall beside dlib's own pipeline, same photos, same run.

    python bench/accuracy.py [--lfw ../shared/lfw-devtrain] [--json out/accuracy.json]

On LFW dev-train (and ../shared/faces/people): verification of LFW's 2,200 labelled pairs
(bench/pairs.py: accuracy at the shipped threshold and at the best one, ROC AUC, photos without
a face), then open-set identification as the service runs it (bench/open_set.py): galleries of
30, 100 and 500 people (photo 1 enrolled, up to 4 other photos as check-ins), 500 one-photo
people as strangers. Each check-in is right, the wrong person, or undecided (unknown, ambiguous
or no face); a stranger is accepted or not. Rows:

- dlib, face_recognition rule: dlib's pipeline, nearest enrolled face under 0.6;
- rollcall, distance only: Rollcall's pipeline, the size-aware threshold alone (its FAR curve:
  the rule before the runner-up curve);
- rollcall: Rollcall's pipeline and shipped decision rule (size-aware and runner-up threshold,
  margin);
- with `--opt-in faceres`: the opt-in faceres backbone (`rollcall models install faceres`) in
  Rollcall's pipeline, distance only and with its own rule (fitted on half 0 by
  tools/fit_faceres.py), beside the others in the same run;
- with `--opt-in dlib+faceres`: the score-level fusion of Rollcall's dlib-resnet and faceres
  embeddings of the same photos (bench/fusion.py: weights and curves fitted on half 0 by
  `tools/fit_faceres.py --fusion-only`), with faceres alone beside it.
- with `--alignment-candidate`: Rollcall's pipeline with dlib's chips cut in another geometry
  (what tools/measure_dlib_box.py prints), on the shipped rule, beside the shipped constants.
The same rules with two photos enrolled a person (bench/two_photos.py).
Each also gets "zero-error right": people marked right at the loosest threshold that marks no
stranger and no wrong person. `--half 1` (the default) takes only the people of half 1 (and
LFW's pairs among them): tools/fit_runner_up_curve.py fitted the shipped curve on half 0.
Rollcall's rule is also run at other settings of ROLLCALL_MAX_FPIR and the ambiguity margin
(the defaults' evidence).

The roster section (bench/rosters.py) checks in as a course's session does: rosters of 30
inside a gallery of 500, one frame or a burst of the person's other photos fused, at several
retry bands (ROLLCALL_RETRY_BAND's evidence).

The enrollment gate section (bench/enrollment_gate.py) degrades the enrolled photo of 200
gallery people (downscaled, blurred) and shows, by face size and sharpness, how often the
check-ins of that person are still right: the gate should refuse only what would fail.

bench/accuracy_report.py prints the pairs, open-set, settings and gate tables (bench/two_photos.py
and bench/rosters.py print their own); all of it goes to `--json` as well.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fusion, pairs, rosters, two_photos
from bench.accuracy_report import print_report
from bench.enrollment_gate import GATE_PEOPLE, GATE_VARIANTS, gate_study, gate_summary
from bench.lfw import (
    SHIPPED_FLIP_TTA,
    AlignmentCandidatePipeline,
    DlibPipeline,
    EmbeddingCache,
    FaceresPipeline,
    FaceResult,
    LfwProtocol,
    PlainDlibPart,
    RollcallPipeline,
    embed_all,
    lfw_protocol,
)
from bench.open_set import open_set, sweep
from models.alignment import HogGeometry
from models.backbones import get_backbone
from models.fusion import part_lengths
from models.identification import shipped_retry_bands, shipped_rule

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    parser.add_argument("--json", type=Path, default=Path("out/accuracy.json"))
    parser.add_argument("--galleries", type=int, nargs="+", default=[30, 100, 500])
    parser.add_argument("--probes", type=int, default=4, help="check-ins per enrolled person")
    parser.add_argument("--strangers", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--half",
        default="1",
        choices=("0", "1", "all"),
        help="whose people: half 1 (default) was never seen by tools/fit_runner_up_curve.py",
    )
    parser.add_argument("--no-gate", action="store_true", help="skip the enrollment-gate study")
    parser.add_argument("--gate-face-size", type=float, default=40, help="gate to compare (px)")
    parser.add_argument("--gate-sharpness", type=float, default=4, help="gate to compare")
    parser.add_argument("--no-rosters", action="store_true", help="skip the roster/burst rows")
    parser.add_argument("--no-pairs", action="store_true", help="skip LFW's labelled pairs")
    parser.add_argument(
        "--only-cached",
        action="store_true",
        help="embed nothing: leave out the people whose photos some pipeline has not embedded "
        "(galleries shrink; their real sizes are reported)",
    )
    parser.add_argument(
        "--opt-in",
        nargs="*",
        default=[],
        choices=("faceres", fusion.NAME),
        help="opt-in backbones to measure beside (installed: rollcall models install NAME)",
    )
    parser.add_argument(
        "--fill-from-other-half",
        action="store_true",
        help="enroll the other half's one-photo people too (no check-ins) after this half's, "
        "for galleries larger than this half has people",
    )
    parser.add_argument(
        "--alignment-candidate",
        type=float,
        nargs=6,
        metavar=("SHIFT_X", "SHIFT_Y", "SIDE", "EYES_X", "EYES_Y", "EYES_SIDE"),
        help="MTCNN_TO_HOG_SHIFT, MTCNN_TO_HOG_SIDE, EYES_TO_HOG_SHIFT, EYES_TO_HOG_SIDE to "
        "measure beside the shipped ones (models/alignment.py)",
    )
    args = parser.parse_args()
    if fusion.NAME in args.opt_in:  # faceres alone beside its fusion
        args.opt_in = list(dict.fromkeys(["faceres", *args.opt_in]))

    half = None if args.half == "all" else int(args.half)
    protocol = lfw_protocol(args.lfw, args.seed, max(args.galleries), args.strangers, half)
    if args.no_pairs:
        protocol = dataclasses.replace(protocol, pairs=[])
    if args.fill_from_other_half and half is not None:
        other = lfw_protocol(args.lfw, args.seed, 0, 0, 1 - half).distractors
        protocol = dataclasses.replace(protocol, distractors=protocol.distractors + other)
    jobs = {(a, "full") for a, b, _ in protocol.pairs} | {(b, "full") for a, b, _ in protocol.pairs}
    jobs |= {(protocol.enrolled_photo(p), "full") for p in protocol.enrolled(max(args.galleries))}
    for person in protocol.gallery:
        jobs |= {(p, "full") for p in protocol.photos[person][: 1 + args.probes]}
    jobs |= {(protocol.photos[s][0], "full") for s in protocol.strangers}
    gate_jobs = set()
    if not args.no_gate:
        gate_jobs = {
            (protocol.enrolled_photo(p), v)
            for p in protocol.gallery[:GATE_PEOPLE]
            for v in GATE_VARIANTS
        }

    # Strangers who come in bursts: people with 3+ photos outside the gallery of 500.
    everyone = lfw_protocol(args.lfw, args.seed, 10**6, 0, half).gallery
    burst_strangers = [p for p in everyone[rosters.GALLERY :] if len(protocol.photos[p]) >= 3]
    burst_strangers = burst_strangers[:100] if not args.no_rosters else []
    roster_jobs = {(p, "full") for s in burst_strangers for p in protocol.photos[s][: args.probes]}

    lookups, caches = {}, {}
    shipped = RollcallPipeline()
    pipelines: list = [DlibPipeline(), shipped]
    if args.alignment_candidate:
        sx, sy, side, ex, ey, eside = args.alignment_candidate
        geometry = HogGeometry((sx, sy), side, (ex, ey), eside)
        pipelines.append(AlignmentCandidatePipeline(shipped, geometry))
    pipelines += [FaceresPipeline()] if "faceres" in args.opt_in else []
    if fusion.NAME in args.opt_in and SHIPPED_FLIP_TTA:  # the fusion's dlib part: plain chips
        pipelines.append(PlainDlibPart())
    for pipeline in pipelines:
        cache = caches[pipeline.name] = EmbeddingCache(args.cache, pipeline.cache_key)
        extra = gate_jobs | roster_jobs if pipeline.name == "rollcall" else roster_jobs
        extra = set() if pipeline.name == "dlib" else extra
        if args.only_cached:
            protocol = cached_only(protocol, cache)
            if not protocol.gallery:
                raise SystemExit(f"--only-cached: {cache.path} holds no enrolled photo")
            jobs = {(p, v) for p, v in jobs if cache.has(protocol.root, p, v)}
            extra = {(p, v) for p, v in extra if cache.has(protocol.root, p, v)}
        lookups[pipeline.name] = embed_all(pipeline, cache, jobs | extra, protocol.root, "LFW")
    if "faceres" in lookups:
        lookups["faceres"] = finished_faceres(lookups["faceres"])
    if fusion.NAME in args.opt_in:
        dlib_part = lookups.get(PlainDlibPart.name, lookups["rollcall"])
        lookups[fusion.NAME] = fusion.fused_lookup(dlib_part, lookups["faceres"])

    rule = shipped_rule(flip_tta=SHIPPED_FLIP_TTA)
    rules = {"rollcall": rule} | {
        name: fusion.fused_rule() if name == fusion.NAME else shipped_rule(name)
        for name in args.opt_in
    }
    if args.alignment_candidate:
        rules[AlignmentCandidatePipeline.name] = rule
    report: dict = {
        "pairs": pairs.table(protocol, lookups, rules),
        "decision_rule": rule.describe(),
    }
    report["open_set"] = open_set(protocol, lookups, rules, args.galleries, args.probes)
    report["two_photos"] = two_photos.table(protocol, lookups, rules, args.galleries, args.probes)
    report["sweep"] = sweep(protocol, lookups["rollcall"], rule, args.galleries, args.probes)
    if not args.no_gate:
        cache = caches["rollcall"]
        embedded = (lambda p, v: cache.has(protocol.root, p, v)) if args.only_cached else None
        rows = gate_study(protocol, lookups["rollcall"], rule, args.probes, embedded)
        report["gate"] = gate_summary(rows, args.gate_face_size, args.gate_sharpness)
    print_report(report)
    two_photos.print_table(report["two_photos"])
    if not args.no_rosters and max(args.galleries) >= rosters.GALLERY:
        l2 = get_backbone("dlib-resnet").l2_normalize
        bands = shipped_retry_bands("dlib-resnet", SHIPPED_FLIP_TTA)
        rows = rosters.roster_rows(protocol, lookups["rollcall"], lookups["rollcall"],
                                   burst_strangers, rule, args.probes, l2,
                                   shipped=bands)  # fmt: skip
        report["rosters"] = rows
        rosters.print_rows(rows)
        for name in args.opt_in:
            spec = get_backbone(name)  # a fusion's bursts fuse each part on its own
            rows = rosters.roster_rows(protocol, lookups[name], lookups[name], burst_strangers,
                                       rules[name], args.probes, spec.l2_normalize,
                                       part_lengths(spec),
                                       shipped=shipped_retry_bands(name, False))  # fmt: skip
            report[f"rosters, {name}"] = rows
            print(f"\n{name}:", end="")
            rosters.print_rows(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    return 0


def cached_only(protocol: LfwProtocol, cache: EmbeddingCache) -> LfwProtocol:
    """The protocol on what the cache holds: people whose first photo it lacks are left out,
    and a person's photos end at the first one it lacks (fewer check-ins, same galleries)."""

    def cached(path: Path) -> bool:
        return cache.has(protocol.root, path, "full")

    photos = {}
    for person, paths in protocol.photos.items():
        missing = next((i for i, p in enumerate(paths) if not cached(p)), len(paths))
        photos[person] = paths[:missing]
    return dataclasses.replace(
        protocol,
        pairs=[(a, b, same) for a, b, same in protocol.pairs if cached(a) and cached(b)],
        gallery=[p for p in protocol.gallery if photos[p]],
        strangers=[p for p in protocol.strangers if photos[p]],
        distractors=[p for p in protocol.distractors if photos[p]],
        photos=photos,
    )


def finished_faceres(raw: Callable) -> Callable:
    """FaceresPipeline's raw features finished as the backbone does (shipped centring)."""
    from models.backbones.faceres import load_centring

    centring = load_centring()

    def lookup(path: Path, variant: str = "full") -> FaceResult | None:
        found = raw(path, variant)
        if found is None:
            return None
        return dataclasses.replace(found, embedding=centring.apply(found.embedding))

    return lookup


if __name__ == "__main__":
    raise SystemExit(main())
