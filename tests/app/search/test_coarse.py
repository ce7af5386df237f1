"""The int8 first pass of large searches: its error bound holds, and the answers stay exact."""

from __future__ import annotations

import numpy as np
import pytest

import app.search.gallery
from app.search.coarse import approximate_dots, int8_product, quantize
from app.search.gallery import Gallery
from tests.app.search.test_gallery_search import (
    _assert_same,
    _distances,
    _plain_search,
)
from tests.app.search.test_gallery_search import (
    test_fast_search_picks_the_plain_best_and_runner_up as best_and_runner_up_scenario,
)
from tests.app.search.test_gallery_search import (
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
    monkeypatch.setattr(app.search.gallery, "COARSE_FROM_ROWS", 0)


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


def test_the_bound_holds_where_the_rounding_errors_all_add_up() -> None:
    """Adversarial rows: every coordinate sits just beside a half step of its int8 scale, on
    the side whose residual has the query's sign, so the errors of the D products add up
    instead of cancelling; the query (±c everywhere) makes Cauchy-Schwarz nearly tight."""
    rng = np.random.default_rng(13)
    dimension = 128
    signs = rng.choice(np.array([-1.0, 1.0]), size=(20, dimension))
    queries = (signs * 0.09).astype(np.float32)  # quantizes exactly: ±127 times its scale
    rows = np.empty((20, dimension), np.float32)
    for index, sign in enumerate(signs):
        scale = 0.002 * (index + 1)
        steps = rng.integers(-120, 120, size=dimension) + 0.5
        # Just below the half step rounds down (residual +scale/2), just above rounds up.
        rows[index] = (steps - sign * 1e-3) * scale
        rows[index, 0] = 127 * scale * sign[0]  # sets the row's scale, exactly representable
    for query in queries:
        dots, [bound] = approximate_dots(quantize(rows), query[None])
        exact = rows.astype(np.float64) @ query.astype(np.float64)
        errors = np.abs(dots[0] - exact)
        assert (errors <= bound).all()
    # The row whose sign pattern matches its query nearly reaches the bound: it is tight.
    dots, [bound] = approximate_dots(quantize(rows[-1:]), queries[-1][None])
    error = abs(float(dots[0, 0]) - float(rows[-1].astype(np.float64) @ queries[-1]))
    assert 0.9 * bound < error <= bound


def _near_tie_gallery(
    rng: np.random.Generator, queries: np.ndarray, gaps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A random unit gallery where, for each query, two students' templates lie at nearly
    equal distances (about 0.5, and 0.5 + gap), far nearer than everyone else (about 1.4)."""
    dimension = queries.shape[1]
    embeddings = [rng.normal(size=(4000, dimension))]
    students = [rng.integers(1, 1000, size=4000)]
    for index, (query, gap) in enumerate(zip(queries.astype(np.float64), gaps, strict=True)):
        pair = []
        for distance in (0.5, 0.5 + gap):
            # A unit vector at this chord from the unit query: angle 2 asin(d / 2).
            direction = rng.normal(size=dimension)
            direction -= direction @ query * query
            direction /= np.linalg.norm(direction)
            angle = 2 * np.arcsin(distance / 2)
            pair.append(np.cos(angle) * query + np.sin(angle) * direction)
        order = rng.permutation(2)  # which of the two students is the nearer one
        embeddings.append(np.array(pair)[order])
        students.append(np.array([2000 + 2 * index, 2001 + 2 * index]))
    matrix = np.concatenate(embeddings)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.concatenate(students), matrix.astype(np.float32)


def test_the_int8_pass_ranks_near_ties_exactly(int8_always: None) -> None:
    """Two students at distances 3e-6 to 1e-4 apart, where the int8 figures are off by ~1e-3:
    the int8 ranking alone puts the wrong one first for some queries; the search never does."""
    rng = np.random.default_rng(17)
    queries = rng.normal(size=(60, 128))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    gaps = np.geomspace(3e-6, 1e-4, len(queries))
    students, embeddings = _near_tie_gallery(rng, queries, gaps)
    gallery = Gallery(128, _distances)
    gallery.load_matrix(students, embeddings)
    float32_only = Gallery(128, _distances, coarse_from_rows=len(students) + 1)
    float32_only.load_matrix(students, embeddings)

    coarse = quantize(embeddings)
    dots, bounds = approximate_dots(coarse, queries)
    swapped = 0
    for index, (query, fast, f32) in enumerate(
        zip(queries, gallery.search(queries), float32_only.search(queries), strict=True)
    ):
        plain = _plain_search(students, embeddings, query, None)
        _assert_same(fast, plain)
        # The int8 and float32 searches pick the same students, at distances equal within the
        # float32 rounding the gallery allows for (bench/gallery.py's check).
        assert (fast.student_id, fast.runner_up_id) == (f32.student_id, f32.runner_up_id)
        assert abs(fast.distance**2 - f32.distance**2) <= 2 * 131 * np.finfo(np.float32).eps * 2
        pair = len(students) - 2 * len(queries) + 2 * index + np.arange(2)
        exact = embeddings[pair].astype(np.float64) @ query.astype(np.float64)
        assert (np.abs(dots[index, pair] - exact) <= bounds[index]).all()
        nearer_by_int8 = students[pair][dots[index, pair].argmax()]  # largest dot: nearest
        swapped += int(nearer_by_int8 != plain.student_id)
    assert swapped >= 5  # adversarial indeed: without the exact pass these would be wrong


@pytest.mark.parametrize(
    ("size", "scale", "crowded"),
    [(300, 1.0, False), (5000, 1.0, False), (5000, 0.4, False), (2000, 1.0, True)],
)
@pytest.mark.slow
def test_int8_and_float32_searches_agree_on_random_galleries(
    int8_always: None, size: int, scale: float, crowded: bool
) -> None:
    """Random galleries: the same students, distances within float32's rounding, as
    bench/gallery.py asserts at a million. `crowded`: half the templates near one face, so the
    int8 window holds ~1,000 rows and `cdist` measures them by its |q|² + |g|² - 2 q·g product
    (from 26 rows), not the differences: measured, 38 of 40 queries then differ from the
    float32 search in the last digits (up to 3.5e-7 on the squared distance), as at 1M."""
    rng = np.random.default_rng(19)
    embeddings = rng.normal(size=(size, 128)) * scale
    if crowded:
        face = embeddings[0] / np.linalg.norm(embeddings[0])
        embeddings[: size // 2] = face + rng.normal(scale=0.01, size=(size // 2, 128))
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    embeddings = embeddings.astype(np.float32)
    students = np.arange(size) // 2 + 1
    near = size // 2 if crowded else size
    queries = embeddings[rng.integers(0, near, 40)] + rng.normal(scale=0.05, size=(40, 128))
    queries = queries.astype(np.float32)
    gallery = Gallery(128, _distances)
    gallery.load_matrix(students, embeddings)
    float32_only = Gallery(128, _distances, coarse_from_rows=size + 1)
    float32_only.load_matrix(students, embeddings)
    largest = float((embeddings.astype(np.float64) ** 2).sum(axis=1).max())
    for query, fast, f32 in zip(
        queries, gallery.search(queries), float32_only.search(queries), strict=True
    ):
        _assert_same(fast, _plain_search(students, embeddings, query, None))
        assert (fast.student_id, fast.runner_up_id) == (f32.student_id, f32.runner_up_id)
        # The gallery's own bound on the float32 rounding of a squared distance.
        tolerance = 2 * 131 * np.finfo(np.float32).eps * (float(query @ query) + largest)
        assert abs(fast.distance**2 - f32.distance**2) <= tolerance
        assert abs(fast.runner_up_distance**2 - f32.runner_up_distance**2) <= tolerance
