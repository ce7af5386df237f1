"""The training losses and miners give textbook values on small hand-computed batches.

pytorch-metric-learning's ContrastiveLoss uses d (not d^2) and, like TripletMarginLoss, averages
over the non-zero terms only; `build_loss` squares the hinge terms and averages over every
pair/triplet, and these tests pin that down with numbers worked out by hand.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from models.training.losses import MissingTrainExtraError, build_loss, build_miner


def points(*xy: tuple[float, float]) -> torch.Tensor:
    return torch.tensor(xy, dtype=torch.float32)


def test_contrastive_loss_is_the_textbook_formula() -> None:
    # Identity 0 at (0,0) and (3,4); identity 1 at (1,0) and (0,2); margin 3.
    embeddings = points((0, 0), (3, 4), (1, 0), (0, 2))
    labels = torch.tensor([0, 0, 1, 1])
    # Genuine pairs, y * d^2: d = 5 -> 25, d = sqrt(5) -> 5; mean 15.
    # Impostor pairs, (1 - y) * max(0, m - d)^2: d = 1 -> 4, d = 2 -> 1,
    # d = sqrt(20) and sqrt(13) are beyond the margin -> 0, 0; mean 5 / 4.
    # Each of pml's defaults would change the value: d instead of d^2, L2-normalised points
    # (these are not unit length), or averaging the impostor terms over the non-zero ones.
    expected = 15 + 5 / 4
    loss = build_loss("contrastive", margin=3.0)(embeddings, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_contrastive_loss_is_zero_for_a_perfect_batch() -> None:
    # Same identity: identical points (d = 0); different identities: beyond the margin.
    embeddings = points((0, 0), (0, 0), (10, 0), (10, 0))
    labels = torch.tensor([0, 0, 1, 1])
    assert build_loss("contrastive", margin=3.0)(embeddings, labels).item() == pytest.approx(0.0)


def test_triplet_loss_on_given_triplets() -> None:
    # On a line: a=0 (id 0), p=1 (id 0), n=1.5 (id 1), n'=3 (id 1); margin 1.
    embeddings = points((0, 0), (1, 0), (1.5, 0), (3, 0))
    labels = torch.tensor([0, 0, 1, 1])
    triplets = (torch.tensor([0, 0, 1]), torch.tensor([1, 1, 0]), torch.tensor([2, 3, 2]))
    # (0,1,2): 1 - 1.5 + 1 = 0.5; (0,1,3): 1 - 3 + 1 < 0 -> 0; (1,0,2): 1 - 0.5 + 1 = 1.5.
    # Mean over all three triplets (pml's default would average the two non-zero ones: 1.0).
    loss = build_loss("triplet", margin=1.0)(embeddings, labels, triplets)
    assert loss.item() == pytest.approx(2 / 3, rel=1e-5)


def test_triplet_loss_over_all_triplets_matches_a_plain_reference() -> None:
    generator = torch.Generator().manual_seed(3)
    embeddings = torch.randn(9, 4, generator=generator)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    margin = 0.7
    terms = []
    for a, p, n in itertools.permutations(range(9), 3):
        if labels[a] == labels[p] and labels[a] != labels[n]:
            d_ap = math.dist(embeddings[a].tolist(), embeddings[p].tolist())
            d_an = math.dist(embeddings[a].tolist(), embeddings[n].tolist())
            terms.append(max(0.0, d_ap - d_an + margin))
    assert len(terms) == 9 * 2 * 6
    loss = build_loss("triplet", margin=margin)(embeddings, labels)
    assert loss.item() == pytest.approx(sum(terms) / len(terms), rel=1e-4)


# Positions on a line; ids 0, 1 and 2. Each anchor's hardest positive and negative is unique.
LINE = [0.0, 0.2, 1.0, 1.3, 2.5, 0.55, 4.2]
LINE_LABELS = [0, 0, 0, 1, 1, 2, 2]


def line_batch() -> tuple[torch.Tensor, torch.Tensor]:
    return points(*[(x, 0.0) for x in LINE]), torch.tensor(LINE_LABELS)


def test_batch_hard_miner_picks_farthest_positive_and_nearest_negative() -> None:
    embeddings, labels = line_batch()
    anchors, positives, negatives = build_miner("batch-hard", margin=0.2)(embeddings, labels)
    mined = {
        int(a): (int(p), int(n)) for a, p, n in zip(anchors, positives, negatives, strict=True)
    }
    # Worked out on the line: e.g. anchor 0 (x=0): positives at 0.2 and 1.0 -> index 2;
    # negatives at 1.3, 2.5, 0.55, 4.2 -> index 5 (x=0.55).
    assert mined == {
        0: (2, 5),
        1: (2, 5),
        2: (0, 3),
        3: (4, 2),
        4: (3, 2),
        5: (6, 1),
        6: (5, 4),
    }


def test_semi_hard_miner_keeps_only_triplets_inside_the_margin() -> None:
    embeddings, labels = line_batch()
    margin = 0.3
    anchors, positives, negatives = build_miner("semi-hard", margin)(embeddings, labels)
    mined = {
        (int(a), int(p), int(n)) for a, p, n in zip(anchors, positives, negatives, strict=True)
    }
    expected = set()
    for a, p, n in itertools.permutations(range(len(LINE)), 3):
        if LINE_LABELS[a] == LINE_LABELS[p] != LINE_LABELS[n]:
            d_ap, d_an = abs(LINE[a] - LINE[p]), abs(LINE[a] - LINE[n])
            if d_ap < d_an <= d_ap + margin:
                expected.add((a, p, n))
    assert mined == expected
    # Anchor 1 (x=0.2), positive 0 (d=0.2): negative 5 (d=0.35) is semi-hard, so is kept;
    # negative 3 (d=1.1) is easy and anchor 2's negative 3 (d=0.3 < d_ap=1.0) is hard: both out.
    assert (1, 0, 5) in mined
    assert (1, 0, 3) not in mined
    assert (2, 0, 3) not in mined


def test_unknown_loss_or_miner_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("arcface", 0.5)
    with pytest.raises(ValueError, match="unknown miner"):
        build_miner("easy", 0.5)


def test_missing_train_extra_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pytorch_metric_learning", None)  # import now fails
    with pytest.raises(MissingTrainExtraError, match=r"pip install -e '\.\[train\]'"):
        build_loss("triplet", 0.2)
