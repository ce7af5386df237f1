"""The gallery's fast exact search gives the plain distance's answers, and deltas equal reloads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.search.gallery import Gallery, GalleryMatch
from models.siamese import pairwise_distances


def _distances(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return pairwise_distances(torch.from_numpy(queries), torch.from_numpy(gallery)).numpy()


def _plain_search(
    student_ids: np.ndarray, embeddings: np.ndarray, query: np.ndarray, exclude: int | None
) -> GalleryMatch:
    """Every distance in float64, the best student, then the best of the others."""
    keep = student_ids != exclude
    ids, rows = student_ids[keep], embeddings[keep].astype(np.float64)
    if len(ids) == 0:
        return GalleryMatch(None, float("inf"), None, float("inf"))
    distances = np.linalg.norm(rows - query.astype(np.float64), axis=1)
    best = int(distances.argmin())
    others = np.where(ids == ids[best], np.inf, distances)
    second = int(others.argmin())
    runner_up = int(ids[second]) if np.isfinite(others[second]) else None
    return GalleryMatch(int(ids[best]), float(distances[best]), runner_up, float(others[second]))


def _assert_same(fast: GalleryMatch, plain: GalleryMatch) -> None:
    assert (fast.student_id, fast.runner_up_id) == (plain.student_id, plain.runner_up_id)
    assert fast.distance == pytest.approx(plain.distance, abs=1e-5)
    assert fast.runner_up_distance == pytest.approx(plain.runner_up_distance, abs=1e-5)


@pytest.mark.parametrize("normalized", [True, False])  # facenet's unit vectors; dlib's raw ones
def test_fast_search_picks_the_plain_best_and_runner_up(normalized: bool) -> None:
    rng = np.random.default_rng(7)
    students = rng.integers(1, 400, size=3000)
    embeddings = rng.normal(size=(3000, 128)).astype(np.float32)
    # Near-duplicates: rows whose distances differ by less than float32's rounding of the
    # product, so only the exact second pass can rank them.
    embeddings[1::2] = embeddings[::2] + rng.normal(scale=1e-4, size=(1500, 128))
    if normalized:
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    queries = embeddings[rng.integers(0, 3000, size=60)] + rng.normal(scale=1e-3, size=(60, 128))
    queries = queries.astype(np.float32)
    gallery = Gallery(128, _distances)
    gallery.load_matrix(students, embeddings)
    for exclude in (None, int(students[0])):
        for query, fast in zip(queries, gallery.search(queries, exclude), strict=True):
            _assert_same(fast, _plain_search(students, embeddings, query, exclude))


def test_replacing_students_equals_loading_the_result() -> None:
    rng = np.random.default_rng(11)
    truth: dict[int, np.ndarray] = {}
    gallery = Gallery(16, _distances)
    for step in range(300):
        student = int(rng.integers(1, 40))
        rows = rng.normal(size=(int(rng.integers(0, 4)), 16)).astype(np.float32)
        truth[student] = rows  # zero rows: removed or deactivated
        gallery.replace_students([student], np.full(len(rows), student), rows)
        if step % 25 == 0 or step == 299:
            ids = np.concatenate([np.full(len(r), s) for s, r in truth.items()]).astype(np.int64)
            matrix = np.concatenate(list(truth.values())).reshape(-1, 16)
            reloaded = Gallery(16, _distances)
            reloaded.load_matrix(ids, matrix)
            assert len(gallery) == len(reloaded) == len(ids)
            assert gallery.student_count == reloaded.student_count
            roster = rng.integers(1, 50, size=12)  # some never enrolled, some repeated
            enrolled = {s for s, r in truth.items() if len(r)}
            expected = len(enrolled & set(roster.tolist()))
            assert gallery.students_among(roster) == reloaded.students_among(roster) == expected
            queries = rng.normal(size=(20, 16)).astype(np.float32)
            for query, fast, full in zip(
                queries, gallery.search(queries), reloaded.search(queries), strict=True
            ):
                assert fast == full
                _assert_same(fast, _plain_search(ids, matrix, query, None))


def test_a_delta_must_only_add_rows_of_the_students_it_replaces() -> None:
    gallery = Gallery(2, _distances)
    with pytest.raises(ValueError, match="students replaced"):
        gallery.replace_students([1], np.array([2]), np.zeros((1, 2)))
    assert len(gallery) == 0 and gallery.search(np.zeros((1, 2)))[0].student_id is None
