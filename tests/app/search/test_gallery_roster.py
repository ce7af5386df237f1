"""A gallery search restricted to a roster: only its students are candidates."""

from __future__ import annotations

import numpy as np

from app.search.gallery import Gallery


def _euclidean(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.linalg.norm(queries[:, None, :] - gallery[None, :, :], axis=2)


def test_a_restricted_search_sees_only_the_roster() -> None:
    gallery = Gallery(2, _euclidean)
    points = {1: [0.0], 2: [1.0, 0.9], 3: [2.0]}
    gallery.load((sid, np.array([x, 0.0])) for sid, xs in points.items() for x in xs)
    query = np.array([[0.05, 0.0]])
    [whole] = gallery.search(query)
    assert whole.student_id == 1
    [roster] = gallery.search(query, restrict_to=np.array([2, 3, 99]))
    assert roster.student_id == 2 and abs(roster.distance - 0.85) < 1e-6  # best template
    assert roster.runner_up_id == 3
    [empty] = gallery.search(query, restrict_to=np.array([99], np.int64))
    assert empty.student_id is None and empty.distance == float("inf")
    assert gallery.students_among(np.array([2, 3, 99])) == 2
    assert gallery.students_among(np.array([], np.int64)) == 0
