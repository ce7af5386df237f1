"""`models.evaluation.metrics`: verification figures on hand-made distances."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation.metrics import roc_auc, roc_curve, verification_metrics


def test_verification_metrics_on_hand_made_distances() -> None:
    distances = np.array([0.2, 0.4, 0.7, 0.5, 0.8, 0.9, 1.0])
    same = np.array([True, True, True, False, False, False, False])
    m = verification_metrics(distances, same, threshold=0.6)
    # At 0.6: genuine 0.2, 0.4 accepted, 0.7 rejected; impostor 0.5 accepted, rest rejected.
    assert (m["true_accepts"], m["false_rejects"]) == (2, 1)
    assert (m["false_accepts"], m["true_rejects"]) == (1, 3)
    assert m["accuracy"] == pytest.approx(5 / 7)
    # Best: between 0.4 and 0.5 (6/7: only genuine 0.7 wrong); placed midway at 0.45.
    assert m["best_accuracy"] == pytest.approx(6 / 7)
    assert m["best_threshold"] == pytest.approx(0.45)
    # AUC: of the 3 x 4 (genuine, impostor) pairs, only 0.7 > 0.5 is mis-ordered -> 11/12.
    assert m["roc_auc"] == pytest.approx(11 / 12)
    # Accepting <= 0.5: FAR 1/4 < FRR 1/3; accepting <= 0.7: FAR 1/4 >= FRR 0. Between these
    # points FAR stays 1/4 while FRR falls from 1/3 to 0: they meet at 1/4.
    assert m["eer"] == pytest.approx(0.25)
    far_1e2 = m["tar_at_far"][0]
    assert far_1e2["far_target"] == 0.01
    assert far_1e2["tar"] == pytest.approx(2 / 3)  # FAR 0 allows accepting up to 0.4
    assert far_1e2["impostor_pairs"] == 4
    assert far_1e2["false_accepts_allowed"] == 0
    assert far_1e2["reliable"] is False
    assert m["genuine_distances"]["max"] == pytest.approx(0.7)
    assert m["impostor_distances"]["min"] == pytest.approx(0.5)


def test_a_distance_equal_to_the_threshold_is_rejected_as_the_service_does() -> None:
    m = verification_metrics(np.array([0.6, 0.3, 0.9]), np.array([True, True, False]), 0.6)
    assert m["true_accepts"] == 1


def test_the_tar_at_far_distance_is_a_threshold_under_the_services_strict_rule() -> None:
    genuine, impostor = np.array([0.2, 0.4]), np.array([0.5, 0.9])
    distances, same = np.concatenate([genuine, impostor]), np.array([1, 1, 0, 0], bool)
    [row, _] = verification_metrics(distances, same, threshold=0.6)["tar_at_far"]
    assert row["tar"] == 1.0
    # Used as the service's threshold (accept when distance < threshold) it gives that TAR.
    assert np.mean(genuine < row["distance"]) == row["tar"]
    assert np.mean(impostor < row["distance"]) <= row["far_target"]


def test_auc_counts_ties_as_half() -> None:
    assert roc_auc(np.array([0.5]), np.array([0.5])) == pytest.approx(0.5)
    assert roc_auc(np.array([0.1, 0.5]), np.array([0.5, 0.9])) == pytest.approx((2 + 1.5) / 4)


def test_perfect_separation_gives_zero_eer_and_full_tar() -> None:
    m = verification_metrics(np.array([0.1, 0.2, 0.8, 0.9]), np.array([1, 1, 0, 0], bool), 0.5)
    assert (m["accuracy"], m["best_accuracy"], m["roc_auc"], m["eer"]) == (1.0, 1.0, 1.0, 0.0)
    assert all(row["tar"] == 1.0 for row in m["tar_at_far"])


@pytest.mark.slow
def test_roc_and_auc_are_scikit_learns_on_negated_distances() -> None:
    """The numpy ROC gives scikit-learn's points and area (scikit-learn is not in the service's
    install: it comes with the test extra), ties included, under the strict < rule."""
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    rng = np.random.default_rng(0)
    for _ in range(50):
        genuine = np.round(rng.normal(0.5, 0.2, rng.integers(1, 40)), 2)  # rounded: many ties
        impostor = np.round(rng.normal(0.9, 0.2, rng.integers(1, 60)), 2)
        same = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
        scores = -np.r_[genuine, impostor]  # scikit-learn accepts scores >= its threshold
        far, tar, thresholds = sklearn_roc_curve(same, scores, drop_intermediate=False)
        ours = roc_curve(genuine, impostor)
        np.testing.assert_allclose(ours.far, far)
        np.testing.assert_allclose(ours.tar, tar)
        # distance <= d is distance < the next float above d: the service's strict rule.
        np.testing.assert_array_equal(ours.thresholds[1:], np.nextafter(-thresholds[1:], np.inf))
        assert roc_auc(genuine, impostor) == pytest.approx(roc_auc_score(same, scores), abs=1e-12)
