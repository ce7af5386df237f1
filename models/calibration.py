"""`rollcall calibrate`: choose the distance threshold that meets a false-accept target.

The rule, for a target of at most a fraction r of false accepts among n negatives (impostor
pairs for ``--max-far``; stranger check-ins of the open-set protocol for ``--max-stranger-rate``):

1. At most k = floor(r * n) negatives may be accepted (a pair is accepted when its distance is
   strictly below the threshold, as the service decides).
2. Accepting f <= k negatives means placing the threshold at or below the (f+1)-th smallest
   negative distance; the genuine acceptance this buys only grows with f. Among f = 0..k the
   smallest f that reaches the best genuine acceptance is taken: a false accept is only ever
   traded for genuine accepts, never spent for nothing. With r = 0 (the default) that is none.
3. The threshold goes midway in the gap it must fall in: between the largest distance it
   accepts (genuine, or the f-th negative) and the smallest negative it rejects. Midway, not at
   the impostor edge, leaves a safety margin of half the gap on both sides for faces the
   calibration set did not contain. It is rounded to the fewest decimals (3 or more) that keep
   it inside the gap.

With ``--write`` the result is written as ``ROLLCALL_THRESHOLD=<value>`` into the service's
``.env`` (replacing that line, whatever its case, keeping every other line), where
`app.core.config.Settings` reads it; without, the command only says what it would write. A fixed
threshold replaces the size-aware one (models/thresholds.py), which tightens as students are
enrolled: one looser than the size-aware threshold for the gallery enrolled now is refused
without ``--force``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from models.backbones import BackboneSpec
from models.cli import make_embedder, refuse
from models.evaluation.metrics import VerificationMetrics, accepted, verification_metrics
from models.evaluation.open_set import (
    OpenSetMetrics,
    Probe,
    open_set_metrics,
    open_set_probes,
    open_set_split,
)
from models.evaluation.reports import format_photos
from models.evaluation.run import EvaluationData, load_evaluation_data
from models.files import atomic_write
from models.identification import DEFAULT_AMBIGUITY_MARGIN
from models.thresholds import FarCurve

THRESHOLD_KEY = "ROLLCALL_THRESHOLD"
FAR_CURVE_KEY = "ROLLCALL_FAR_CURVE"
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


# --------------------------------------------------------------------------- .env


def write_env_value(path: Path, key: str, value: str) -> None:
    """Set `key=value` in a dotenv file: replace its line in place, keep every other line.

    Keys match case-insensitively, as the service's settings read them. Not python-dotenv's
    `set_key`: it matches keys case-sensitively, so it would add ROLLCALL_THRESHOLD beside a
    `rollcall_threshold` line and leave the service two values of one setting.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.is_file() else []
    out: list[str] = []
    written = False
    for line in lines:
        match = _ASSIGNMENT.match(line)
        if match and match.group(1).upper() == key.upper():  # a comment never matches
            if not written:  # later duplicates would override ours when the service reads it
                out.append(f"{key}={value}\n")
                written = True
            continue
        out.append(line)
    if not written:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(f"{key}={value}\n")
    with atomic_write(path, "w") as handle:  # the service never reads a half-written .env
        handle.writelines(out)


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    lower: float  # the largest accepted distance (0 when nothing is accepted)
    upper: float  # the smallest rejected negative distance (inf when none is rejected)
    allowed_false_accepts: int
    false_accepts: int
    negatives: int
    accepted_positives: int
    positives: int

    @property
    def margin(self) -> float:
        return (self.upper - self.lower) / 2


def _round_inside(value: float, lower: float, upper: float) -> float:
    """`value` with the fewest decimals (at least 3) that keep it strictly inside the gap."""
    for decimals in range(3, 12):
        rounded = round(value, decimals)
        if lower < rounded < upper:
            return rounded
    return value


def choose_threshold(
    positives: np.ndarray, negatives: np.ndarray, max_rate: float, population: int | None = None
) -> ThresholdChoice:
    """The threshold of the module docstring's rule; `positives` should be accepted.

    `population` is what the rate is a share of (default: the negatives), for when some
    negatives can never be accepted and were left out.
    """
    if not 0.0 <= max_rate <= 1.0:
        raise ValueError(f"the target rate must be within [0, 1], got {max_rate}")
    pos = np.sort(np.asarray(positives, dtype=np.float64))
    neg = np.sort(np.asarray(negatives, dtype=np.float64))
    population = len(neg) if population is None else population
    allowed = min(math.floor(max_rate * population + 1e-9), len(neg))
    # upper[f]: the negative that must stay rejected when f negatives are accepted.
    upper = np.append(neg, np.inf)[: allowed + 1]
    gains = np.searchsorted(pos, upper, side="left")  # positives strictly below each bound
    f = int(np.argmax(gains == gains[-1]))  # fewest false accepts for the best acceptance
    lower = max(
        float(pos[gains[f] - 1]) if gains[f] > 0 else 0.0,
        float(neg[f - 1]) if f > 0 else 0.0,
    )
    top = float(upper[f])
    if math.isinf(top):  # every negative may be accepted: step a little past the last distance
        value = lower + max(0.05 * lower, 1e-3)
    else:
        value = _round_inside((lower + top) / 2, lower, top) if top > lower else top
    return ThresholdChoice(
        threshold=float(value),
        lower=lower,
        upper=top,
        allowed_false_accepts=allowed,
        false_accepts=accepted(neg, value),
        negatives=population,
        accepted_positives=accepted(pos, value),
        positives=len(pos),
    )


def open_set_populations(
    probes: Sequence[Probe], ambiguity_margin: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """(distances of check-ins that should be accepted, of strangers, count of strangers).

    Check-ins the service answers "ambiguous" are never accepted at any threshold, so they take
    no part in placing it; strangers still count them in the rate's denominator.
    """
    clear = [p for p in probes if p.decision(math.inf, ambiguity_margin) != "ambiguous"]
    positives = np.array([p.distance for p in clear if p.known and p.nearest == p.identity])
    strangers = np.array([p.distance for p in clear if not p.known])
    return positives, strangers, sum(not p.known for p in probes)


# --------------------------------------------------------------------------- command


@dataclass(frozen=True)
class Calibration:
    target: str
    choice: ThresholdChoice
    verification: VerificationMetrics
    open_set: OpenSetMetrics | None


def calibrate(
    data: EvaluationData,
    max_far: float | None = None,
    max_stranger_rate: float | None = None,
    seed: int = 0,
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
) -> Calibration:
    """Choose the threshold for one target (`max_far` on pairs, or on open-set strangers)."""
    probes = None
    if data.labels is not None and data.distances is not None:
        probes = open_set_probes(data.distances, data.labels, open_set_split(data.labels, seed))
    if max_stranger_rate is not None:
        if probes is None:
            raise ValueError("--max-stranger-rate needs a folder-per-identity dataset")
        positives, strangers, total = open_set_populations(probes, ambiguity_margin)
        if total == 0:
            raise ValueError("the open-set split has no stranger check-ins")
        choice = choose_threshold(positives, strangers, max_stranger_rate, population=total)
        target = f"stranger acceptance <= {max_stranger_rate:g}"
    else:
        rate = 0.0 if max_far is None else max_far
        same = data.pair_same
        choice = choose_threshold(data.pair_distances[same], data.pair_distances[~same], rate)
        target = f"FAR <= {rate:g}"
    verification = verification_metrics(data.pair_distances, data.pair_same, choice.threshold)
    open_set = None
    if probes is not None:
        open_set = open_set_metrics(probes, choice.threshold, ambiguity_margin, data.paths)
    return Calibration(target, choice, verification, open_set)


def format_calibration(result: Calibration, backbone: str) -> str:
    c, v = result.choice, result.verification
    kind = "impostor pairs" if result.target.startswith("FAR") else "stranger check-ins"
    lines = [
        f"target     {result.target} on {c.negatives} {kind} "
        f"(allows {c.allowed_false_accepts} false accepts)",
        f"threshold  {format_threshold(c.threshold)} for {backbone}: midway between the "
        f"largest accepted distance {c.lower:.4f} and the smallest rejected one {c.upper:.4f} "
        f"(safety margin {c.margin:.4f} each side)",
        f"pairs      false accepts {v['false_accepts']}/{v['impostor_pairs']} impostor pairs; "
        f"rejected genuine {v['false_rejects']}/{v['genuine_pairs']} "
        f"(FRR {v['false_rejects'] / v['genuine_pairs']:.1%}); accuracy {v['accuracy']:.2%}",
    ]
    o = result.open_set
    if o is not None:
        lines.append(
            f"check-ins  rejected known {o['rejected']}/{o['known_checkins']}, wrong person "
            f"{o['wrong']}, accepted strangers {o['accepted_strangers']}/{o['stranger_checkins']}"
        )
    return "\n".join(lines)


def format_threshold(value: float) -> str:
    """The shortest text that reads back as exactly `value` (`:g` could leave the gap)."""
    return repr(float(value))


def write_threshold(env_file: Path, value: float) -> str:
    """Write ROLLCALL_THRESHOLD=`value` into `env_file`; the text written."""
    text = format_threshold(value)
    write_env_value(env_file, THRESHOLD_KEY, text)
    return text


# Fewer impostor pairs than this measure no small FAR (FarCurve.from_impostors needs as many).
MIN_RELIABLE_NEGATIVES = 1000


def few_negatives_warning(result: Calibration, rate: float) -> str | None:
    """A warning when the negatives are too few for the target to mean much (the rule evaluate's
    TAR@FAR rows follow: at least 10 false accepts allowed), else None."""
    count = result.choice.negatives
    needed = max(MIN_RELIABLE_NEGATIVES, math.ceil(10 / rate) if rate > 0 else 0)
    if count >= needed:
        return None
    kind = "impostor pairs" if result.target.startswith("FAR") else "stranger check-ins"
    return (
        f"warning: only {count} {kind}: the rate moves in steps of {1 / max(count, 1):.1e}, so "
        f"{result.target} on them is not a reliable estimate (at least {needed} are needed); "
        "calibrate on more people's photos, e.g. ../shared/lfw-devtrain"
    )


class ServiceFacts(Protocol):
    """What calibrate reads of the service it writes for (app.services.calibration_facts)."""

    students: int
    max_fpir: float
    far_curve: Path | None
    backbone: str
    mirrored: bool


@dataclass(frozen=True)
class SizeAwareCheck:
    """The size-aware threshold the service would give up for a fixed one, and for how many."""

    threshold: float
    students: int
    at_500: float
    max_fpir: float


def service_facts(args: argparse.Namespace) -> ServiceFacts | None:
    """The facts of the service that reads args.env_file: app.cli hands over how to read them
    (`gallery_facts`); None from models alone."""
    facts_of = getattr(args, "gallery_facts", None)
    return None if facts_of is None else facts_of(args.env_file)


def size_aware_check(
    args: argparse.Namespace, spec: BackboneSpec, facts: ServiceFacts | None
) -> SizeAwareCheck | None:
    """The size-aware threshold that writing a fixed ROLLCALL_THRESHOLD would replace, for the
    gallery the service searches now (`spec`: calibrated for the embeddings it compares); None
    when the written value is only a ceiling (a FAR curve keeps the threshold size-aware) or no
    curve is known for these weights."""
    if facts is None or args.far_curve is not None:
        return None
    if facts.far_curve is not None or args.weights is not None or spec.far_curve is None:
        return None
    curve = FarCurve.load(spec.far_curve)
    return SizeAwareCheck(
        threshold=curve.threshold_for(max(facts.students, 1), facts.max_fpir, spec.threshold),
        students=facts.students,
        at_500=curve.threshold_for(500, facts.max_fpir, spec.threshold),
        max_fpir=facts.max_fpir,
    )


def looser_than_size_aware(value: float, check: SizeAwareCheck) -> str:
    return (
        f"{THRESHOLD_KEY}={format_threshold(value)} would be one fixed threshold for every "
        f"search, looser than the size-aware one the service uses now: {check.threshold:.3f} "
        f"for the {check.students} students enrolled (ROLLCALL_MAX_FPIR={check.max_fpir:g}; "
        f"{check.at_500:.3f} at 500 students), so more strangers would be taken for students. "
        "Keep the size-aware threshold (write nothing), calibrate with --far-curve FILE on "
        "1,000+ impostor pairs (the threshold then stays size-aware, the value a ceiling), or "
        "--force to write it anyway"
    )


def current_value(env_file: Path, key: str) -> str | None:
    """`key`'s value in the dotenv file (matched as write_env_value matches it), or None."""
    if not env_file.is_file():
        return None
    value = None
    for line in env_file.read_text(encoding="utf-8").splitlines():
        match = _ASSIGNMENT.match(line)
        if match and match.group(1).upper() == key.upper() and value is None:
            value = match.group(2)
    return value


def calibrate_command(args: argparse.Namespace) -> int:
    # The service's settings and database: a bad one is app.cli's to report (exit 2).
    facts = service_facts(args)
    if facts is not None and facts.backbone != args.backbone:
        facts = None  # another backbone's service: nothing it compares
    if args.flip_tta is None and facts is not None:  # embed as the service compares
        args.flip_tta = facts.mirrored
    embedder = make_embedder(args)
    if embedder is None:
        return 2
    if facts is not None and facts.mirrored != embedder.mirrored:
        flag = "--flip-tta" if facts.mirrored else "--no-flip-tta"
        mismatch = (
            f"the service of {args.env_file} compares embeddings with mirror averaging "
            f"{'on' if facts.mirrored else 'off'}: a threshold of these would not hold for "
            f"them; calibrate with {flag} (or leave it out)"
        )
        if args.write:
            return refuse("calibrate", mismatch)
        print(f"note: {mismatch}")
    try:
        data = load_evaluation_data(embedder, args.dataset, args.pairs, progress=True)
        result = calibrate(
            data, args.max_far, args.max_stranger_rate, args.seed, args.ambiguity_margin
        )
        check = size_aware_check(args, embedder.spec, facts)
    except (FileNotFoundError, ValueError) as exc:
        return refuse("calibrate", exc)
    print(f"weights {embedder.version}, mirror averaging {'on' if embedder.mirrored else 'off'}")
    print("\n".join(format_photos(data.photos)))
    if data.unscored_pairs:
        print(f"  {len(data.unscored_pairs)} pairs unscored (a photo without a usable face)")
    print(format_calibration(result, embedder.spec.name))
    warning = few_negatives_warning(result, args.max_stranger_rate or args.max_far or 0.0)
    if warning:
        print(warning)
    if args.far_curve is not None:
        impostors = data.pair_distances[~data.pair_same]
        curve = FarCurve.from_impostors(impostors, f"{args.dataset} ({embedder.version})")
        curve.save(args.far_curve)
        print(
            f"wrote the FAR curve of {curve.impostor_pairs} impostor pairs to {args.far_curve} "
            f"(FAR 1e-3 at {curve.threshold_for_far(1e-3):.4f}, 1e-5 at "
            f"{curve.threshold_for_far(1e-5):.4f}; finest measured FAR {curve.finest_far:.1e})"
        )
    value = result.choice.threshold
    looser = None
    if check is not None and value > check.threshold:
        looser = looser_than_size_aware(value, check)
    elif check is not None and value > check.at_500:
        print(
            f"note: a fixed {THRESHOLD_KEY} stays {format_threshold(value)} as students are "
            f"enrolled; the size-aware threshold it replaces is {check.threshold:.3f} for the "
            f"{check.students} enrolled now and {check.at_500:.3f} at 500 "
            "(--far-curve keeps it size-aware)"
        )
    if not args.write:
        before = current_value(args.env_file, THRESHOLD_KEY) or "(not set)"
        print(
            f"would set {THRESHOLD_KEY}={format_threshold(value)} in {args.env_file} (now "
            f"{before}); nothing written: run again with --write to write it"
        )
        if looser:
            print(f"note: --write would refuse it: {looser}")
        return 0
    if looser and not args.force:
        print(f"rollcall calibrate: refused: {looser}", file=sys.stderr)
        return 1
    text = write_threshold(args.env_file, value)
    if args.far_curve is not None:
        write_env_value(args.env_file, FAR_CURVE_KEY, str(args.far_curve.resolve()))
    print(
        f"wrote {THRESHOLD_KEY}={text} to {args.env_file}: it holds for {embedder.spec.name} "
        f"only (the service's ROLLCALL_BACKBONE), and a {THRESHOLD_KEY} environment variable "
        "overrides the file"
    )
    return 0
