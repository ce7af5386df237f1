"""Gallery search at 1k to 1M templates: the cached-norm BLAS search beside the plain `cdist`.

For each size: the median time of one query's search (best and runner-up student) as the
gallery runs it (from 200,000 templates an int8 first pass, app/search/coarse.py), the same
search on the float32 matrix alone (the search before the int8 pass), the gallery's memory
and the search's transient memory, and the time to build the gallery from the rows as the
database stores them (little-endian float32 bytes). The reference is the search Rollcall
shipped before: `cdist` over the whole matrix, then a masked copy for the runner-up. All run
on the same matrix, alternating, in the same run, and must answer alike: the same best and
runner-up students, their distances within float32's rounding (SQUARED_TOLERANCE). Last, the
memory bandwidth one thread gets: what bounds a search that reads the whole matrix.

    python bench/gallery.py [--sizes 1000 10000 100000 1000000] [--queries 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from app.search.gallery import Gallery, GalleryMatch
from models.siamese import pairwise_distances

DIMENSION = 128
TEMPLATES_PER_STUDENT = 2  # several photos per student, as enrollment allows
# The searches must pick the same students; their distances may differ in float32's last
# digits: each measures its window of candidates with `cdist`, which computes
# |q|² + |g|² - 2 q·g from 26 rows on (exact differences below), and the int8 pass's window is
# wider. At 1M one runner-up differed by 2e-7 (1.1222868 vs 1.1222870). The
# tolerance is the gallery's own bound on that figure's float32 rounding (app/search/gallery.py):
# 2 (D + 3) eps (|q|² + |g|²) on the squared distance, 6.2e-5 for these unit vectors.
SQUARED_TOLERANCE = 2 * (DIMENSION + 3) * float(np.finfo(np.float32).eps) * 2


def distances(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return pairwise_distances(torch.from_numpy(queries), torch.from_numpy(gallery)).numpy()


def cdist_search(
    student_ids: np.ndarray, embeddings: np.ndarray, query: np.ndarray
) -> GalleryMatch:
    """The shipped search: every distance by `cdist`, then the runner-up in a masked copy."""
    found = distances(query[None], embeddings)
    best = found.argmin(axis=1)
    best_ids = student_ids[best]
    others = np.where(student_ids[None, :] == best_ids[:, None], np.inf, found)
    second = others.argmin(axis=1)
    return GalleryMatch(
        int(best_ids[0]),
        float(found[0, best[0]]),
        int(student_ids[second[0]]),
        float(others[0, second[0]]),
    )


def assert_same(match: GalleryMatch, reference: GalleryMatch, what: str) -> None:
    """The same best and runner-up students; squared distances within SQUARED_TOLERANCE."""
    assert (match.student_id, match.runner_up_id) == (
        reference.student_id,
        reference.runner_up_id,
    ), f"{what}: students {match} vs {reference}"
    for found, expected in (
        (match.distance, reference.distance),
        (match.runner_up_distance, reference.runner_up_distance),
    ):
        assert abs(found**2 - expected**2) <= SQUARED_TOLERANCE, f"{what}: {match} vs {reference}"


def measure(size: int, queries: int, rng: np.random.Generator, threads: int) -> str:
    """One size's row of the table."""
    embeddings = rng.normal(size=(size, DIMENSION)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    student_ids = np.arange(size, dtype=np.int64) // TEMPLATES_PER_STUDENT + 1
    stored = [row.astype("<f4").tobytes() for row in embeddings]  # as in face_templates

    gallery = Gallery(DIMENSION, distances, search_threads=threads)
    float32_only = Gallery(DIMENSION, distances, coarse_from_rows=size + 1)
    float32_only.load_matrix(student_ids, embeddings)
    start = time.perf_counter()
    matrix = np.frombuffer(b"".join(stored), "<f4").reshape(size, DIMENSION)
    gallery.load_matrix(student_ids, matrix)
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    Gallery(DIMENSION, distances).load(
        zip(student_ids.tolist(), (np.frombuffer(b, "<f4") for b in stored), strict=True)
    )
    per_row_seconds = time.perf_counter() - start
    del stored, matrix

    fast, float32, plain = [], [], []
    for _ in range(queries):
        query = embeddings[rng.integers(size)] + rng.normal(scale=0.05, size=DIMENSION)
        query = (query / np.linalg.norm(query)).astype(np.float32)
        start = time.perf_counter()
        [match] = gallery.search(query[None])
        fast.append(time.perf_counter() - start)
        start = time.perf_counter()
        [float32_match] = float32_only.search(query[None])
        float32.append(time.perf_counter() - start)
        assert_same(match, float32_match, "the int8 pass must not change the answer")
        start = time.perf_counter()
        reference = cdist_search(student_ids, embeddings, query)
        plain.append(time.perf_counter() - start)
        assert_same(match, reference, "the fast search must answer as the plain search")
    tracemalloc.start()  # numpy reports its allocations to tracemalloc
    gallery.search(query[None])
    search_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    fast_ms, plain_ms = statistics.median(fast) * 1e3, statistics.median(plain) * 1e3
    float32_ms = statistics.median(float32) * 1e3
    # matrix, owners, norms; its int8 copy and scales
    held = embeddings.nbytes + student_ids.nbytes + size * 4 + size * (DIMENSION + 4)
    return (
        f"{size:>9} {fast_ms:9.2f} {float32_ms:9.2f} {plain_ms:9.2f} {fast_ms / plain_ms:6.3f} "
        f"{held / 1e6:9.1f} {search_peak / 1e6:9.1f} {load_seconds:7.2f} {per_row_seconds:9.2f}"
    )


def memory_bandwidth() -> str:
    """What one thread reads per second from memory (a 512 MB float32 matrix times a vector,
    the search's own access pattern), and so the floor of a float32 search at 1M templates."""
    matrix = np.random.default_rng(1).normal(size=(1_000_000, DIMENSION)).astype(np.float32)
    vector = matrix[0].copy()
    matrix @ vector
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        matrix @ vector
        seconds.append(time.perf_counter() - start)
    best = min(seconds)
    return (
        f"memory: one thread reads {matrix.nbytes / best / 1e9:.1f} GB/s (best of 5 float32 "
        f"matrix-vector products at 1M), so reading the float32 matrix takes {best * 1e3:.1f} ms "
        f"and its int8 copy at least {best * 1e3 / 4:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=9)
    parser.add_argument(
        "--search-threads", type=int, default=1, help="ROLLCALL_SEARCH_THREADS: the int8 pass"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"threads: torch 1, search {args.search_threads}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"{'templates':>9} {'search ms':>9} {'f32 ms':>9} {'cdist ms':>9} {'ratio':>6} "
        f"{'held MB':>9} {'search MB':>9} {'load s':>7} {'per-row s':>9}"
    )
    rng = np.random.default_rng(0)
    for size in args.sizes:
        print(measure(size, args.queries, rng, args.search_threads), flush=True)
    print(memory_bandwidth())
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        "search: one query's best and runner-up, median; f32: the same on the float32 matrix "
        "alone; cdist: the search shipped before, "
        "same queries; held: matrix, owners and norms; search MB: numpy's peak while "
        "searching; load: the matrix from stored bytes at once (now) / row by row (before)"
    )


if __name__ == "__main__":
    main()
