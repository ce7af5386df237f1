"""The int8 first pass of large searches: its error bound holds, and the answers stay exact."""

from __future__ import annotations

import numpy as np
import pytest

from app.gallery import Gallery
from app.gallery_coarse import approximate_dots, int8_product, quantize
from tests.test_gallery_search import _assert_same, _distances, _plain_search


@pytest.mark.parametrize("scale", [1.0, 0.05, 30.0])  # unit-ish, small and large magnitudes
def test_the_int8_dot_products_are_within_their_bound(scale: float) -> None:
    rng = np.random.default_rng(3)
    rows = (rng.normal(size=(5000, 128)) * scale).astype(np.float32)
    rows[7] = 0  # an all-zero row quantizes to itself
    queries = (rng.normal(size=(6, 128)) * scale).astype(np.float32)
    dots, bounds = approximate_dots(quantize(rows), queries)
    exact = queries.astype(np.float64) @ rows.astype(np.float64).T
    errors = np.abs(dots - exact).max(axis=1)
    assert (errors <= bounds).all()
    # A bound that narrows the search: a few percent of |q|·|g| (about 128 scale²).
    assert (bounds < 0.03 * scale * scale * 128).all()


def test_theint8_product_is_exact_at_the_extremes() -> None:
    """No saturation inside ONNX Runtime's kernel: every product of ±127 sums exactly."""
    rng = np.random.default_rng(5)
    values = rng.choice(np.array([-127, 127], np.int8), size=(300, 128))
    values[0], values[1] = 127, -127
    queries = rng.choice(np.array([-127, 127], np.int8), size=(128, 3))
    queries[:, 0] = 127
    products = int8_product()(values, np.ascontiguousarray(queries))
    np.testing.assert_array_equal(products, values.astype(np.int64) @ queries.astype(np.int64))


def _gallery(students: np.ndarray, embeddings: np.ndarray) -> Gallery:
    gallery = Gallery(embeddings.shape[1], _distances, coarse_from_rows=0)  # always int8 first
    gallery.load_matrix(students, embeddings)
    return gallery


@pytest.mark.parametrize("normalized", [True, False])  # facenet's unit vectors; dlib's raw ones
def test_the_int8_pass_keeps_the_plain_best_and_runner_up(normalized: bool) -> None:
    rng = np.random.default_rng(7)
    students = rng.integers(1, 400, size=3000)
    embeddings = rng.normal(size=(3000, 128)).astype(np.float32)
    # Near-duplicates far closer than int8's resolution: only the exact pass ranks them.
    embeddings[1::2] = embeddings[::2] + rng.normal(scale=1e-4, size=(1500, 128))
    if normalized:
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    queries = embeddings[rng.integers(0, 3000, size=60)] + rng.normal(scale=1e-3, size=(60, 128))
    queries = queries.astype(np.float32)
    gallery = _gallery(students, embeddings)
    roster = np.unique(students)[::3]
    for exclude in (None, int(students[0])):
        for query, fast in zip(queries, gallery.search(queries, exclude), strict=True):
            _assert_same(fast, _plain_search(students, embeddings, query, exclude))
    on_roster = np.isin(students, roster)
    for query, fast in zip(queries, gallery.search(queries, restrict_to=roster), strict=True):
        _assert_same(fast, _plain_search(students[on_roster], embeddings[on_roster], query, None))


def test_the_int8_copy_follows_deltas() -> None:
    rng = np.random.default_rng(11)
    truth: dict[int, np.ndarray] = {}
    gallery = Gallery(16, _distances, coarse_from_rows=0)
    for step in range(300):
        student = int(rng.integers(1, 40))
        rows = (rng.normal(size=(int(rng.integers(0, 4)), 16)) * rng.uniform(0.1, 3)).astype(
            np.float32
        )
        truth[student] = rows  # zero rows: removed or deactivated
        gallery.replace_students([student], np.full(len(rows), student), rows)
        if step % 25 == 0 or step == 299:
            ids = np.concatenate([np.full(len(r), s) for s, r in truth.items()]).astype(np.int64)
            matrix = np.concatenate(list(truth.values())).reshape(-1, 16)
            queries = rng.normal(size=(20, 16)).astype(np.float32)
            for query, fast in zip(queries, gallery.search(queries), strict=True):
                _assert_same(fast, _plain_search(ids, matrix, query, None))
