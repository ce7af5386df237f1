"""The 1:N check-in decision, on plain numbers: the service and `rollcall evaluate` share it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from models.thresholds import FarCurve, RunnerUpCurve

# A check-in whose runner-up student is closer than this to the best one is "ambiguous".
DEFAULT_AMBIGUITY_MARGIN = 0.04

IdentificationDecision = Literal["present", "unknown", "ambiguous", "retry"]
RosterDecision = Literal["present", "unknown", "ambiguous", "retry", "not_on_roster"]


@dataclass(frozen=True)
class RetryBand:
    """How near its threshold a face's best distance answers `retry` (too close to call, look
    again): less than `below` under it (a face that would be accepted) or less than `above`
    over it (one that would be refused)."""

    below: float = 0.0
    above: float = 0.0

    def covers(self, best_distance: float, threshold: float) -> bool:
        return -self.below < best_distance - threshold < self.above


NO_BAND = RetryBand()


@dataclass(frozen=True)
class RetryBands:
    """The retry band of a face seen in one frame, and of one fused from several (a burst)."""

    one_frame: RetryBand = NO_BAND
    burst: RetryBand = NO_BAND

    def for_frames(self, frames: int) -> RetryBand:
        """The band of a face that `frames` frames showed (1: a single photo)."""
        return self.one_frame if frames <= 1 else self.burst


# The shipped bands, chosen with `python bench/retry_band.py --half 0` (LFW dev-train, half 0 of
# its people; reported on half 1 in docs/recognition.md). A burst's band, 0.03 on both sides,
# is what brings strangers' fused bursts (nearer to everybody) back from 3.4% marked in rosters
# to 0.3%. One frame's band is narrower under the threshold and wider over it: 0.025 under it
# is the narrowest of 0, 0.01, 0.02, 0.025 that marks no more wrong people than 0.03 did at any
# size (30 to 2,000 searched whole, a roster of 30 in 500), and 0.06 over it (a near miss looks
# again with a burst instead of answering unknown) the widest of 0 to 0.08 before the kiosk's
# figure (one frame, the burst on retry) marks one more wrong person; strangers stay under 1%.
BURST_RETRY_BAND = RetryBand(0.03, 0.03)
ONE_FRAME_RETRY_BAND = RetryBand(0.025, 0.06)
SHIPPED_RETRY_BANDS = RetryBands(ONE_FRAME_RETRY_BAND, BURST_RETRY_BAND)

# Backbones that ship bands of their own, chosen the same way on half 0; every other backbone
# ships the above. dlib+faceres (`bench/retry_band.py --half 0 --backbone dlib+faceres
# --burst-bands 0.03 0.04 0.05`): a burst's 0.04, the narrowest of 0.03-0.05 whose bursts and
# kiosk mark no more wrong people than 0.05 at any size (0.03: the kiosk 4 at 500, 0.04: 0),
# strangers' bursts under 1%; one frame's 0.03 under the threshold, the narrowest of 0-0.04 that
# marks no more wrong people than the former 0.03 both sides (0.025: one more at 500 and 1,000),
# and 0.08 over it, the widest tried. On half 1 (docs/recognition.md) strangers' roster bursts
# go from 2.7% marked with the above to 0.3%.
# dlib-resnet mirror-averaged ("+flip"; `bench/retry_band.py --half 0 --flip-tta`): the same
# rule picks one frame's 0.03 under the threshold (0.025 marks one more wrong person at 99) and
# 0.08 over it, and a burst's 0.03; at 500 on half 0 the kiosk's figure (one frame, then the burst
# on retry) is 75.3% right, none wrong, strangers 0.0% (0.025 / 0.06: 74.6%).
BACKBONE_RETRY_BANDS: dict[str, RetryBands] = {
    "dlib+faceres": RetryBands(RetryBand(0.03, 0.08), RetryBand(0.04, 0.04)),
    "dlib-resnet+flip": RetryBands(RetryBand(0.03, 0.08), BURST_RETRY_BAND),
}


def shipped_retry_bands(backbone: str, mirrored: bool) -> RetryBands:
    """The retry bands a backbone ships, for its mirror-averaged embeddings or its plain ones:
    its own (the plain ones' where it has none for mirrored), else SHIPPED_RETRY_BANDS."""
    own = BACKBONE_RETRY_BANDS.get(backbone, SHIPPED_RETRY_BANDS)
    return BACKBONE_RETRY_BANDS.get(f"{backbone}+flip", own) if mirrored else own


def decide(
    best_distance: float,
    runner_up_distance: float,
    threshold: float,
    margin: float,
    retry_band: RetryBand = NO_BAND,
) -> IdentificationDecision:
    """present, unknown, ambiguous or retry for a face's nearest and runner-up students.

    A face is unknown unless its best distance is strictly below the threshold (an empty
    gallery's best distance is inf); it is ambiguous when the runner-up student (inf: none) is
    less than `margin` farther than the best one. A best distance that `retry_band` covers is
    "retry": too close to call, look again.
    """
    if retry_band.covers(best_distance, threshold):
        return "retry"
    if best_distance >= threshold:
        return "unknown"
    if runner_up_distance - best_distance < margin:
        return "ambiguous"
    return "present"


@dataclass(frozen=True)
class RosterVerdict:
    """A roster search's answer, and whom it is about: the nearest roster member, or the
    nearest enrolled student overall when that is somebody else (a non-member)."""

    decision: RosterDecision
    about_member: bool  # False: about the non-member
    whole: IdentificationDecision  # the whole gallery's own decision on its nearest


def decide_on_roster(
    member_distance: float,
    nearest_distance: float,
    nearest_is_member: bool,
    runner_up_distance: float,
    thresholds: tuple[float, float],
    margin: float,
    retry_band: RetryBand = NO_BAND,
) -> RosterVerdict:
    """The answer of a course's session for a face, seen against the whole gallery.

    `member_distance`: to the nearest roster member; `nearest_distance` and
    `runner_up_distance`: the whole gallery's nearest and runner-up students (two people);
    `thresholds`: the roster's and the whole gallery's, each for its number of people.

    A roster member is marked only when they are the nearest enrolled student overall, by the
    margin: searching the roster alone, an enrolled non-member who matches himself at 0.34
    was marked as a member at 0.43. A non-member who is nearer by the margin makes the face
    `not_on_roster`; one nearer by less, `ambiguous`.
    """
    roster_threshold, gallery_threshold = thresholds
    whole = decide(nearest_distance, runner_up_distance, gallery_threshold, margin, retry_band)
    if nearest_is_member:
        decision = decide(member_distance, runner_up_distance, roster_threshold, margin, retry_band)
        return RosterVerdict(decision, True, whole)
    if whole == "present":
        return RosterVerdict("not_on_roster", False, whole)
    alone = decide(member_distance, math.inf, roster_threshold, margin, retry_band)
    if alone in ("unknown", "retry"):  # the member would not be marked anyway
        return RosterVerdict(alone, True, whole)
    if member_distance - nearest_distance < margin:
        return RosterVerdict("ambiguous", False, whole)
    return RosterVerdict("not_on_roster", False, whole)


# The share of stranger check-ins that may be accepted as somebody, whatever the number of people
# searched (see `models/thresholds.py`). Chosen with bench/accuracy.py: see README.
DEFAULT_MAX_FPIR = 0.01


@dataclass(frozen=True)
class DecisionRule:
    """How distances become answers: a threshold for each search's size, and the margin.

    With a FAR curve the threshold of a search among N people keeps the false-positive
    identification rate under `max_fpir`; it is never looser than `ceiling` (the backbone's
    1:1 threshold, or ROLLCALL_THRESHOLD). Without a curve every search uses `ceiling`.
    With a runner-up curve (the shipped weights'), a check-in's threshold also follows its
    runner-up's distance (`face_threshold`): the FAR curve's threshold assumes the worst of
    every face, and at 500 enrolled recognises fewer than half of the students.
    """

    ceiling: float
    margin: float = DEFAULT_AMBIGUITY_MARGIN
    max_fpir: float = DEFAULT_MAX_FPIR
    curve: FarCurve | None = None
    runner_up_curve: RunnerUpCurve | None = None

    def identification_threshold(self, candidates: int) -> float:
        """The threshold for any face of a search among `candidates` people (FAR curve)."""
        if self.curve is None:
            return self.ceiling
        return self.curve.threshold_for(candidates, self.max_fpir, self.ceiling)

    def face_threshold(self, candidates: int, best_distance: float, runner_up: float) -> float:
        """The threshold of one check-in's face among `candidates` people, whose nearest and
        runner-up students (the nearest other one) lie at these distances. A face with no
        runner-up, or one within the ambiguity margin (ambiguous, whatever the threshold),
        keeps the distance-only threshold: the runner-up curve was measured without them."""
        alone = runner_up - best_distance < self.margin or math.isinf(runner_up)
        if self.runner_up_curve is None or alone:
            return self.identification_threshold(candidates)
        curve = self.runner_up_curve.threshold(candidates, self.max_fpir, runner_up)
        # The looser of the two: the curve was fitted to spend only the share of strangers
        # that the distance-only threshold leaves, so a face is never refused that the
        # distance alone would accept.
        return min(self.ceiling, max(self.identification_threshold(candidates), curve))

    def verification_threshold(self) -> float:
        """A verify compares with one person: N = 1."""
        return self.identification_threshold(1)

    def describe(self) -> dict[str, object]:
        return {
            "ceiling": self.ceiling,
            "margin": self.margin,
            "max_fpir": self.max_fpir if self.curve or self.runner_up_curve else None,
            "far_curve": self.curve.source if self.curve else None,
            "runner_up_curve": self.runner_up_curve.source if self.runner_up_curve else None,
        }


def shipped_rule(backbone: str = "dlib-resnet", flip_tta: bool | None = None) -> DecisionRule:
    """The service's default rule for a backbone's pretrained weights, mirror-averaged or not
    (`flip_tta`; None: the backbone's default, as models.embedder.EmbedderConfig's)."""
    from models.backbones import calibrated, get_backbone, mirrors

    spec = calibrated(get_backbone(backbone), mirrors(backbone, flip_tta))
    curve = FarCurve.load(spec.far_curve) if spec.far_curve else None
    runner_up = RunnerUpCurve.load(spec.runner_up_curve) if spec.runner_up_curve else None
    return DecisionRule(ceiling=spec.threshold, curve=curve, runner_up_curve=runner_up)
