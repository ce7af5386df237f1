"""Recognition accuracy: Rollcall beside dlib's own pipeline, same photos, same run.

    python bench/accuracy.py [--lfw ../shared/lfw-devtrain] [--json out/accuracy.json]

On LFW dev-train (and ../shared/faces/people): verification of LFW's 2,200 labelled pairs
(accuracy at the shipped threshold and at the best one, ROC AUC, photos without a face), then
open-set identification as the service runs it: galleries of 30, 100 and 500 people (photo 1
enrolled, up to 4 other photos as check-ins), 500 one-photo people as strangers. Each check-in
is right, the wrong person, or undecided (unknown, ambiguous or no face); a stranger is accepted
or not. Rows:

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

The roster section (bench/rosters.py) checks in as a course's session does: rosters of 30
inside a gallery of 500, one frame or a burst of the person's other photos fused, at several
retry bands (ROLLCALL_RETRY_BAND's evidence).

The enrollment gate section degrades the enrolled photo of 200 gallery people (downscaled,
blurred) and shows, by face size and sharpness, how often the check-ins of that person are
still right: the gate should refuse only what would fail.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fusion, rosters, two_photos
from bench.lfw import (
    AlignmentCandidatePipeline,
    DlibPipeline,
    EmbeddingCache,
    FaceresPipeline,
    FaceResult,
    LfwProtocol,
    RollcallPipeline,
    embed_all,
    lfw_protocol,
)
from models.alignment import HogGeometry
from models.backbones import get_backbone
from models.evaluation.metrics import roc_auc
from models.identification import DecisionRule, decide, shipped_rule

SHARED = Path(__file__).resolve().parents[2] / "shared"
DLIB_TOLERANCE = 0.6  # face_recognition's default `tolerance`
GATE_PEOPLE = 200
GATE_CLASS_SIZE = 30  # the gate is judged at the threshold of a class-sized search
GATE_VARIANTS = ("scale0.2", "scale0.25", "scale0.3", "scale0.4", "scale0.5",
                 "blur1", "blur1.5", "blur2.5", "blur4")  # fmt: skip
SIZE_BINS = (0, 40, 45, 50, 60, 80, 1e9)
SHARPNESS_BINS = (0, 2, 4, 6, 8, 10, 15, 25, 1e9)


def pair_metrics(distances: np.ndarray, same: np.ndarray, threshold: float) -> dict[str, float]:
    """A pair without a face counts as 'different' (inf distance): the service cannot match it."""
    finite = np.isfinite(distances)
    candidates = np.unique(distances[finite])
    cuts = np.concatenate([candidates, [np.inf]])
    accuracies = [np.mean((distances < t) == same) for t in cuts]
    best = int(np.argmax(accuracies))
    genuine, impostor = distances[same], distances[~same]
    return {
        "accuracy": float(np.mean((distances < threshold) == same)),
        "threshold": threshold,
        "best_accuracy": float(accuracies[best]),
        "best_threshold": float(cuts[best]),
        "auc": roc_auc(genuine, impostor),  # a pair without a face (inf) ranks last
        "pairs_without_face": int((~finite).sum()),
    }


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


def gate_study(protocol: LfwProtocol, lookup, rule: DecisionRule, probes: int) -> list[dict]:
    """Each (degraded) enrollment photo: face size, sharpness, and how many of its owner's
    check-ins its template matches at a class-sized search's threshold."""
    threshold = rule.identification_threshold(GATE_CLASS_SIZE)
    rows = []
    for person in protocol.gallery[:GATE_PEOPLE]:
        probe_results = [lookup(p) for p in protocol.probes(person, probes)]
        probe_embeddings = [r.embedding for r in probe_results if r is not None]
        if not probe_embeddings:
            continue
        for variant in ("full", *GATE_VARIANTS):
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


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _table(columns: list[tuple[str, int]], rows: list[list[str]]) -> None:
    """Print right-aligned columns (a negative width: left-aligned)."""
    for row in [[name for name, _ in columns], *rows]:
        widths = [w for _, w in columns]
        print(
            "".join(
                f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(row, widths, strict=True)
            )
        )


def print_report(report: dict) -> None:
    print("\nVerification, LFW dev-train pairs (no face: counted as 'different')")
    columns = [("pipeline", -31), ("acc@shipped", 12), ("thr", 7), ("best acc", 10),
               ("best thr", 9), ("AUC", 8), ("no face", 9)]  # fmt: skip
    _table(columns, [
        [name, f"{m['accuracy']:.2%}", f"{m['threshold']:.3f}", f"{m['best_accuracy']:.2%}",
         f"{m['best_threshold']:.3f}", f"{m['auc']:.4f}", str(m["pairs_without_face"])]
        for name, m in report["pairs"].items()
    ])  # fmt: skip
    print("\nOpen-set identification (shares of enrolled people's check-ins; of strangers)")
    columns = [("gallery", 8), ("  pipeline, rule", -48), ("thr", 7), ("right", 8), ("wrong", 8),
               ("undecided", 10), ("strangers in", 13), ("0-err right", 12)]  # fmt: skip
    _table(columns, [
        [size, f"  {name}", f"{m['threshold']:.3f}", f"{m['right']:.1%}", f"{m['wrong']:.2%}",
         f"{m['undecided']:.1%}", f"{m['strangers_accepted']:.2%}", f"{m['zero_error_right']:.1%}"]
        for size, rows in report["open_set"].items() for name, m in rows.items()
    ])  # fmt: skip
    print("\nRollcall at other settings (ROLLCALL_MAX_FPIR, ambiguity margin)")
    columns = [("gallery", 8), ("max_fpir", 9), ("margin", 8), ("thr", 7), ("right", 8),
               ("wrong", 8), ("strangers in", 13)]  # fmt: skip
    _table(columns, [
        [str(m["gallery"]), f"{m['max_fpir']:g}", f"{m['margin']:.2f}", f"{m['threshold']:.3f}",
         f"{m['right']:.1%}", f"{m['wrong']:.2%}", f"{m['strangers_accepted']:.2%}"]
        for m in report["sweep"]
    ])  # fmt: skip
    if report.get("gate"):
        g = report["gate"]
        print(f"\nEnrollment gate: the enrolled photo degraded; share of its owner's check-ins its "
              f"template matches (threshold of a {g['class_size']}-person search)")  # fmt: skip
        _table([("variant", -11), ("photos", 7), ("no face", 8), ("face px", 8), ("sharp", 7),
                ("matched", 9)], [
            [v, str(m["photos"]), str(m["no_face"]), f"{m['median_face_size']:.0f}",
             f"{m['median_sharpness']:.1f}", _pct(m["matched"])]
            for v, m in g["by_variant"].items()
        ])  # fmt: skip
        for key in ("face_size", "sharpness"):
            print(f"  by {key}:")
            _table([("from", 8), ("to", 8), ("photos", 8), ("matched", 9)], [
                [f"{b['from']:g}", f"{b['to']:g}", str(b["photos"]), _pct(b["matched"])]
                for b in g[key]
            ])  # fmt: skip
        for gate in g["gates"]:
            refused, kept = _pct(gate["refused_matched"]), _pct(gate["kept_matched"])
            print(f"  gate {gate['min_face_size']:g} px, sharpness {gate['min_sharpness']:g}: "
                  f"refuses {gate['refused']} photos, which would have matched {refused}; "
                  f"the photos it keeps match {kept}")  # fmt: skip


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

    lookups = {}
    shipped = RollcallPipeline()
    pipelines: list = [DlibPipeline(), shipped]
    if args.alignment_candidate:
        sx, sy, side, ex, ey, eside = args.alignment_candidate
        geometry = HogGeometry((sx, sy), side, (ex, ey), eside)
        pipelines.append(AlignmentCandidatePipeline(shipped, geometry))
    pipelines += [FaceresPipeline()] if "faceres" in args.opt_in else []
    for pipeline in pipelines:
        cache = EmbeddingCache(args.cache, pipeline.cache_key)
        extra = gate_jobs | roster_jobs if pipeline.name == "rollcall" else roster_jobs
        extra = set() if pipeline.name == "dlib" else extra
        if args.only_cached:
            protocol = cached_only(protocol, cache)
            jobs = {(p, v) for p, v in jobs if cache.has(protocol.root, p, v)}
            extra = {(p, v) for p, v in extra if cache.has(protocol.root, p, v)}
        lookups[pipeline.name] = embed_all(pipeline, cache, jobs | extra, protocol.root, "LFW")
    if "faceres" in lookups:
        lookups["faceres"] = finished_faceres(lookups["faceres"])
    if fusion.NAME in args.opt_in:
        lookups[fusion.NAME] = fusion.fused_lookup(lookups["rollcall"], lookups["faceres"])

    rule = shipped_rule()
    rules = {"rollcall": rule} | {
        name: fusion.fused_rule() if name == fusion.NAME else shipped_rule(name)
        for name in args.opt_in
    }
    if args.alignment_candidate:
        rules[AlignmentCandidatePipeline.name] = rule
    report: dict = {"pairs": {}, "decision_rule": rule.describe()}
    same = np.array([s for _, _, s in protocol.pairs])
    for name, lookup in lookups.items() if protocol.pairs else ():
        distances = np.array([_distance(lookup(a), lookup(b)) for a, b, _ in protocol.pairs])
        threshold = DLIB_TOLERANCE if name == "dlib" else rules[name].verification_threshold()
        report["pairs"][name] = pair_metrics(distances, same, threshold)
    report["open_set"] = open_set(protocol, lookups, rules, args.galleries, args.probes)
    report["two_photos"] = two_photos.table(protocol, lookups, rules, args.galleries, args.probes)
    report["sweep"] = sweep(protocol, lookups["rollcall"], rule, args.galleries, args.probes)
    if not args.no_gate:
        rows = gate_study(protocol, lookups["rollcall"], rule, args.probes)
        report["gate"] = gate_summary(rows, args.gate_face_size, args.gate_sharpness)
    print_report(report)
    two_photos.print_table(report["two_photos"])
    if not args.no_rosters and max(args.galleries) >= rosters.GALLERY:
        l2 = get_backbone("dlib-resnet").l2_normalize
        rows = rosters.roster_rows(protocol, lookups["rollcall"], lookups["rollcall"],
                                   burst_strangers, rule, args.probes, l2)  # fmt: skip
        report["rosters"] = rows
        rosters.print_rows(rows)
        for name in args.opt_in:
            l2 = name != fusion.NAME and get_backbone(name).l2_normalize
            rows = rosters.roster_rows(protocol, lookups[name], lookups[name], burst_strangers,
                                       rules[name], args.probes, l2)  # fmt: skip
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


def _distance(a: FaceResult | None, b: FaceResult | None) -> float:
    if a is None or b is None:
        return math.inf
    return float(np.linalg.norm(a.embedding - b.embedding))


if __name__ == "__main__":
    raise SystemExit(main())
