"""The int8 first pass of large searches: its error bound holds, and the answers stay exact."""

from __future__ import annotations

import numpy as np
import pytest

import app.gallery
from app.gallery import Gallery
from app.gallery_coarse import approximate_dots, int8_product, quantize
from tests.app.test_gallery_search import (
    _assert_same,
    _distances,
    _plain_search,
)
from tests.app.test_gallery_search import (
    test_fast_search_picks_the_plain_best_and_runner_up as best_and_runner_up_scenario,
)
from tests.app.test_gallery_search import (
    test_replacing_students_equals_loading_the_result as deltas_scenario,
)


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
    products = int8_product(1)(values, np.ascontiguousarray(queries))
    np.testing.assert_array_equal(products, values.astype(np.int64) @ queries.astype(np.int64))


@pytest.fixture
def int8_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every gallery made in the test searches with the int8 first pass, whatever its size."""
    monkeypatch.setattr(app.gallery, "COARSE_FROM_ROWS", 0)


@pytest.mark.parametrize("normalized", [True, False])  # facenet's unit vectors; dlib's raw ones
def test_the_int8_pass_keeps_the_plain_best_and_runner_up(
    int8_always: None, normalized: bool
) -> None:
    # Near-duplicates far closer than int8's resolution: only the exact pass ranks them.
    best_and_runner_up_scenario(normalized)


def test_the_int8_copy_follows_deltas(int8_always: None) -> None:
    deltas_scenario()


def test_a_roster_search_with_the_int8_pass(int8_always: None) -> None:
    rng = np.random.default_rng(9)
    students = rng.integers(1, 400, size=3000)
    embeddings = rng.normal(size=(3000, 128)).astype(np.float32)
    queries = embeddings[rng.integers(0, 3000, size=30)] + rng.normal(scale=0.1, size=(30, 128))
    gallery = Gallery(128, _distances)
    gallery.load_matrix(students, embeddings)
    roster = np.unique(students)[::3]
    on_roster = np.isin(students, roster)
    for query, fast in zip(queries, gallery.search(queries, restrict_to=roster), strict=True):
        _assert_same(fast, _plain_search(students[on_roster], embeddings[on_roster], query, None))
