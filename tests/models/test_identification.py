"""`models.identification.decide` at its edges, and on synthetic embeddings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.identification import (
    DEFAULT_AMBIGUITY_MARGIN,
    SHIPPED_RETRY_BANDS,
    RetryBand,
    RetryBands,
    decide,
    decide_on_roster,
    shipped_retry_bands,
    shipped_rule,
)


def test_the_decision_rule_at_its_edges() -> None:
    assert decide(0.5, 0.9, threshold=0.6, margin=0.25) == "present"
    assert decide(0.6, 0.9, threshold=0.6, margin=0.25) == "unknown"  # at the threshold: no
    assert decide(math.inf, math.inf, threshold=0.6, margin=0.25) == "unknown"  # empty gallery
    assert decide(0.5, 0.74, threshold=0.6, margin=0.25) == "ambiguous"
    assert decide(0.5, 0.75, threshold=0.6, margin=0.25) == "present"  # exactly the margin apart
    assert decide(0.5, math.inf, threshold=0.6, margin=0.25) == "present"  # a single student


def test_a_roster_marks_a_member_only_when_no_non_member_is_the_nearer_match() -> None:
    """(roster threshold, gallery threshold) = (0.55, 0.42); margin 0.04; no retry band."""
    thresholds, margin = (0.55, 0.42), 0.04

    def verdict(member: float, nearest: float, is_member: bool, runner: float) -> tuple:
        found = decide_on_roster(member, nearest, is_member, runner, thresholds, margin)
        return found.decision, found.about_member, found.whole

    # The nearest enrolled student is the member: the roster's threshold decides, and the
    # runner-up is the nearest other student, member or not.
    assert verdict(0.45, 0.45, True, 0.70) == ("present", True, "unknown")
    assert verdict(0.45, 0.45, True, 0.47) == ("ambiguous", True, "unknown")
    assert verdict(0.58, 0.58, True, 0.90) == ("unknown", True, "unknown")
    # A non-member the whole gallery is sure of: not_on_roster, about him.
    assert verdict(0.44, 0.34, False, 0.44) == ("not_on_roster", False, "present")
    # A non-member nearer by the margin, not sure at the gallery's threshold: still never the
    # member (the 0.43 member against a 0.34 non-member, at a tighter gallery).
    assert verdict(0.50, 0.44, False, 0.50) == ("not_on_roster", False, "unknown")
    # Nearer by less than the margin: the two cannot be told apart.
    assert verdict(0.46, 0.44, False, 0.46) == ("ambiguous", False, "unknown")
    # The member would not be marked anyway: the roster's own answer.
    assert verdict(0.60, 0.50, False, 0.60) == ("unknown", True, "unknown")
    # An empty roster, an empty gallery.
    assert verdict(math.inf, 0.30, False, 0.80)[0] == "not_on_roster"
    assert verdict(math.inf, 0.50, False, 0.80) == ("unknown", True, "unknown")
    assert verdict(math.inf, math.inf, True, math.inf) == ("unknown", True, "unknown")
    # With a retry band, a member near the roster's threshold is asked to look again.
    found = decide_on_roster(0.54, 0.54, True, 0.9, thresholds, margin, RetryBand(0.02, 0.02))
    assert found.decision == "retry"


def test_a_retry_band_has_a_width_under_the_threshold_and_another_over_it() -> None:
    """One frame's band (0.025 under, 0.06 over): a face a little under the threshold is
    present; a near miss over it looks again instead of answering unknown."""
    band, t = RetryBand(below=0.025, above=0.06), 0.42

    def answer(best: float) -> str:
        return decide(best, 0.9, t, 0.04, band)

    assert answer(t - 0.03) == "present"  # the former 0.03 band, either side: retry
    assert answer(t - 0.025) == "present"  # at the band's edge: outside it
    assert answer(t - 0.02) == "retry"
    assert answer(t) == "retry"
    assert answer(t + 0.05) == "retry"  # the former band: unknown
    assert answer(t + 0.06) == "unknown"
    assert decide(math.inf, math.inf, t, 0.04, band) == "unknown"  # an empty gallery
    # A burst's band (ROLLCALL_RETRY_BAND) is the same width on both sides.
    assert decide(t + 0.02, 0.9, t, 0.04, RetryBand(0.03, 0.03)) == "retry"
    assert decide(t - 0.02, 0.9, t, 0.04, RetryBand(0.03, 0.03)) == "retry"
    # Over the threshold the answer is never present or ambiguous, whatever the band.
    assert decide(t + 0.01, t + 0.02, t, 0.04, RetryBand(0.0, 0.0)) == "unknown"


def test_one_frame_and_a_burst_each_have_their_band() -> None:
    bands = RetryBands(one_frame=RetryBand(0.01, 0.05), burst=RetryBand(0.03, 0.03))
    assert bands.for_frames(1) == RetryBand(0.01, 0.05)
    assert bands.for_frames(2) == bands.for_frames(8) == RetryBand(0.03, 0.03)
    # The shipped bands: what bench/retry_band.py --half 0 chose.
    assert SHIPPED_RETRY_BANDS.one_frame == RetryBand(0.025, 0.06)
    assert SHIPPED_RETRY_BANDS.burst == RetryBand(0.03, 0.03)
    # Every backbone ships them but dlib+faceres and mirror-averaged dlib-resnet, whose own
    # bench/retry_band.py --backbone / --flip-tta chose.
    plain = shipped_retry_bands("dlib-resnet", False)
    assert plain == shipped_retry_bands("faceres", False) == SHIPPED_RETRY_BANDS
    assert shipped_retry_bands("dlib+faceres", False) == RetryBands(
        RetryBand(0.03, 0.08), RetryBand(0.04, 0.04)
    )
    assert shipped_retry_bands("dlib-resnet", True) == RetryBands(
        RetryBand(0.03, 0.08), RetryBand(0.03, 0.03)
    )
    assert shipped_retry_bands("faceres", True) == SHIPPED_RETRY_BANDS  # no mirrored bands
    # the fusion asked for mirrored embeddings (its parts never mirror) keeps its own
    assert shipped_retry_bands("dlib+faceres", True) == shipped_retry_bands("dlib+faceres", False)
    t = 0.5
    one, burst = SHIPPED_RETRY_BANDS.for_frames(1), SHIPPED_RETRY_BANDS.for_frames(3)
    assert decide(t - 0.028, 0.9, t, 0.04, one) == "present"
    assert decide(t - 0.028, 0.9, t, 0.04, burst) == "retry"  # a fused face nears everybody
    assert decide(t + 0.045, 0.9, t, 0.04, one) == "retry"  # a near miss takes a burst
    assert decide(t + 0.045, 0.9, t, 0.04, burst) == "unknown"


def test_a_roster_search_asks_again_over_either_threshold_within_the_band() -> None:
    """(roster threshold, gallery threshold) = (0.55, 0.42); one frame's shipped band."""
    thresholds, margin, band = (0.55, 0.42), 0.04, RetryBand(0.025, 0.06)
    # A member just over the roster's threshold: look again, not unknown.
    assert decide_on_roster(0.58, 0.58, True, 0.9, thresholds, margin, band).decision == "retry"
    assert decide_on_roster(0.62, 0.62, True, 0.9, thresholds, margin, band).decision == "unknown"
    # 0.03 under it: present (the former band asked again).
    assert decide_on_roster(0.52, 0.52, True, 0.9, thresholds, margin, band).decision == "present"
    # A non-member just over the whole gallery's threshold, the member far over the roster's:
    # the member would not be marked, and the face is not told apart: unknown.
    found = decide_on_roster(0.70, 0.45, False, 0.70, thresholds, margin, band)
    assert (found.decision, found.whole) == ("unknown", "retry")
    # ...and a member within the band over the roster's threshold is asked again.
    found = decide_on_roster(0.57, 0.45, False, 0.57, thresholds, margin, band)
    assert (found.decision, found.about_member) == ("retry", True)


# --------------------------------------------------------------------------- synthetic embeddings

DIM = 128
THRESHOLD, MARGIN = 0.6, DEFAULT_AMBIGUITY_MARGIN


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def check_in(gallery: np.ndarray, probe: np.ndarray, threshold: float = THRESHOLD) -> tuple:
    """(decision, nearest index) of a probe against a gallery, searched as the service does."""
    if len(gallery) == 0:
        return decide(math.inf, math.inf, threshold, MARGIN), None
    distances = np.linalg.norm(gallery - probe, axis=1)
    order = np.argsort(distances, kind="stable")
    runner_up = distances[order[1]] if len(order) > 1 else math.inf
    return decide(float(distances[order[0]]), float(runner_up), threshold, MARGIN), int(order[0])


@pytest.fixture
def gallery() -> np.ndarray:
    """50 enrolled people: random unit vectors, about sqrt(2) apart in 128 dimensions."""
    return unit(np.random.default_rng(0).normal(size=(50, DIM)))


def test_an_enrolled_person_is_present_as_themselves(gallery: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    for index in range(len(gallery)):
        probe = unit(gallery[index] + rng.normal(scale=0.02, size=DIM))  # another photo of them
        assert check_in(gallery, probe) == ("present", index)


def test_a_stranger_is_unknown(gallery: np.ndarray) -> None:
    strangers = unit(np.random.default_rng(2).normal(size=(100, DIM)))
    assert {check_in(gallery, probe)[0] for probe in strangers} == {"unknown"}


def test_a_face_between_two_look_alikes_is_ambiguous(gallery: np.ndarray) -> None:
    twin = unit(gallery[7] + np.random.default_rng(3).normal(scale=0.01, size=DIM))
    with_twin = np.vstack([gallery, twin])
    probe = unit(gallery[7] + twin)  # as close to one as to the other
    decision, nearest = check_in(with_twin, probe)
    assert decision == "ambiguous" and nearest in (7, len(gallery))
    assert check_in(gallery, probe) == ("present", 7)  # without the twin: no doubt


def test_an_empty_gallery_knows_nobody(gallery: np.ndarray) -> None:
    assert check_in(gallery[:0], gallery[0]) == ("unknown", None)


def test_a_single_enrolled_person_is_never_ambiguous(gallery: np.ndarray) -> None:
    assert check_in(gallery[:1], gallery[0]) == ("present", 0)


def test_a_face_far_from_everybody_stays_unknown_at_any_stricter_threshold(
    gallery: np.ndarray,
) -> None:
    probe = unit(gallery[4] + np.random.default_rng(4).normal(scale=0.05, size=DIM))
    distance = float(np.linalg.norm(gallery[4] - probe))
    assert check_in(gallery, probe, threshold=distance + 1e-6) == ("present", 4)
    assert check_in(gallery, probe, threshold=distance)[0] == "unknown"  # strictly below only


def test_mirror_averaged_embeddings_have_their_own_threshold_and_curves() -> None:
    from models.backbones import calibrated, get_backbone

    plain, mirrored = shipped_rule("dlib-resnet", False), shipped_rule("dlib-resnet", True)
    assert (plain.ceiling, mirrored.ceiling) == (0.596, 0.586)
    assert shipped_rule().describe() == mirrored.describe()  # dlib-resnet mirrors by default
    assert shipped_rule("faceres").describe() == shipped_rule("faceres", False).describe()
    assert mirrored.curve is not None and plain.curve is not None
    assert "+flip" in mirrored.curve.source and "+flip" not in plain.curve.source
    assert mirrored.runner_up_curve is not None
    assert mirrored.runner_up_curve.source != plain.runner_up_curve.source  # type: ignore[union-attr]
    # A backbone without a mirrored calibration keeps its own for both.
    facenet = get_backbone("facenet-vggface2")
    assert calibrated(facenet, True) is facenet
