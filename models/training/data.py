"""The split of identities into training and held-out ones, and the P-K batches."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np


def split_identities(
    labels: Sequence[str], val_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """(train, validation) identities, disjoint and deterministic.

    Identities with two or more photos and single-photo ones are split separately, so both
    sides get photos that form genuine pairs (the only ones that can train or test matching).
    """
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    rng = np.random.default_rng(seed)
    train: list[str] = []
    val: list[str] = []
    for group in (
        sorted(name for name, n in counts.items() if n >= 2),
        sorted(name for name, n in counts.items() if n < 2),
    ):
        shuffled = [group[i] for i in rng.permutation(len(group))]
        take = round(val_fraction * len(shuffled))
        if val_fraction > 0 and group and counts[group[0]] >= 2:
            take = min(max(take, 1), len(shuffled) - 2)  # training needs two such identities
        take = max(take, 0)
        val += shuffled[:take]
        train += shuffled[take:]
    return sorted(train), sorted(val)


class PKSampler:
    """Batches of P identities x K photos (identities with fewer than K photos repeat some).

    Only identities with at least two photos are drawn: a batch-hard or semi-hard miner needs a
    positive for each anchor. An epoch visits every identity at least once and draws about as
    many photos as the training set holds.

    Not pytorch-metric-learning's MPerClassSampler: it draws from numpy's global random state
    (not the run's seed), also draws single-photo identities, and does not visit every identity
    each epoch (with 4 identities, P=3, K=4 about one epoch in five misses one).
    """

    def __init__(self, labels: Sequence[int], p: int, k: int, seed: int) -> None:
        by_class: dict[int, list[int]] = {}
        for index, label in enumerate(labels):
            by_class.setdefault(int(label), []).append(index)
        self.by_class = {c: idx for c, idx in by_class.items() if len(idx) >= 2}
        if len(self.by_class) < 2:
            raise ValueError("training needs at least two identities with two or more photos")
        self.classes = sorted(self.by_class)
        self.p = min(p, len(self.classes))
        self.k = k
        photos = sum(len(idx) for idx in self.by_class.values())
        self.batches = max(math.ceil(len(self.classes) / self.p), math.ceil(photos / (p * k)))
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.batches

    def _photos(self, cls: int) -> list[int]:
        photos = self.by_class[cls]
        chosen = [photos[i] for i in self.rng.permutation(len(photos))[: self.k]]
        if len(chosen) < self.k:
            chosen += [photos[i] for i in self.rng.integers(len(photos), size=self.k - len(chosen))]
        return chosen

    def __iter__(self) -> Iterator[list[int]]:
        queue: list[int] = []
        for _ in range(self.batches):
            batch_classes: list[int] = []
            while len(batch_classes) < self.p:
                if not queue:
                    queue = [self.classes[i] for i in self.rng.permutation(len(self.classes))]
                cls = queue.pop(0)
                if cls in batch_classes:  # at a permutation's seam: draw a class not yet in
                    spare = [c for c in self.classes if c not in batch_classes]
                    cls = spare[self.rng.integers(len(spare))]
                batch_classes.append(cls)
            yield [index for cls in batch_classes for index in self._photos(cls)]
