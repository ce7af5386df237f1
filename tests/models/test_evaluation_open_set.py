"""`models.evaluation.open_set`: the split and the outcomes of the attendance protocol."""

from __future__ import annotations

import numpy as np

from models.evaluation.open_set import (
    OpenSetSplit,
    open_set_metrics,
    open_set_probes,
    open_set_split,
)


def test_open_set_split_enrolls_one_photo_of_some_multi_photo_identities() -> None:
    labels = ["a", "a", "a", "b", "b", "c", "c", "d", "d", "e", "f"]
    split = open_set_split(labels, seed=3)
    assert split == open_set_split(labels, seed=3)  # deterministic
    assert {"e", "f"} <= set(split.strangers)  # singletons can only be strangers
    assert len(split.enrolled) == 2  # 4 candidates, 40% (rounded) held out
    assert set(split.enrolled) | set(split.strangers) == set(labels)
    for name, index in split.enrolled.items():
        assert labels[index] == name
    splits = {tuple(sorted(open_set_split(labels, seed=s).enrolled)) for s in range(20)}
    assert len(splits) > 1  # the seed matters


def test_open_set_outcomes_follow_the_service_decision() -> None:
    labels = ["ann", "ann", "bob", "bob", "cat", "dan"]
    # Gallery: ann = photo 0, bob = photo 2. Distances from each photo to photos 0 and 2:
    to_gallery = {
        1: (0.30, 0.90),  # ann: correct
        3: (0.55, 0.58),  # bob: nearest ann at 0.55, runner-up 0.03 behind -> ambiguous
        4: (0.20, 0.95),  # cat (stranger): accepted as ann
        5: (0.80, 0.70),  # dan (stranger): rejected
    }
    distances = np.full((6, 6), 9.0)
    for index, (d_ann, d_bob) in to_gallery.items():
        distances[index, 0], distances[index, 2] = d_ann, d_bob
    split = OpenSetSplit(enrolled={"ann": 0, "bob": 2}, strangers=["cat", "dan"])
    probes = open_set_probes(distances, labels, split)
    result = open_set_metrics(probes, threshold=0.6, ambiguity_margin=0.04)
    assert (result["correct"], result["wrong"], result["rejected"]) == (1, 0, 1)
    assert (result["accepted_strangers"], result["rejected_strangers"]) == (1, 1)
    assert result["ambiguous"] == 1
    # Without the ambiguity rule bob's photo would be checked in as ann: a wrong person.
    assert open_set_metrics(probes, 0.6, ambiguity_margin=0.0)["wrong"] == 1
