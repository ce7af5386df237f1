"""The enrolled faces, held in memory as one matrix and searched exactly by one BLAS product.

A search ranks every template by |g|² - 2 q·g (|q - g|² less |q|²): one float32 matrix
product against the matrix and its cached squared norms (at a million templates ~40 ms, where
`cdist` took ~600 ms and copied the matrix). The rows whose float32 figure lies within its
rounding bound of the best are then measured again with the model's own distance, so the best
and the runner-up (the closest *other* student) are exactly those the plain distance would
pick. From COARSE_FROM_ROWS templates the product runs on an int8 copy of the matrix, a
quarter of the memory to read (app/search/coarse.py), and the window of rows measured again
widens by that copy's proven error bound: the answers stay exact.

Readers take `self._view` once and never see it change: a change writes only rows past the
views' end and copies the small per-row arrays (norms, owners), then publishes a new view with
one assignment. So a search never sees a half-applied change and never waits for one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import numpy as np

from app.search.coarse import COARSE_FROM_ROWS, Int8Rows, approximate_dots, quantize

DistanceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (Q, D), (N, D) -> (Q, N)

REMOVED = -1  # the owner of a removed row: it stays in the matrix until the next compaction
# Worst-case float32 rounding of |g|² - 2 q·g (the search's ranking) relative to |q|² + |g|²:
# D products and sums in the dot product plus the scaling and adding (three operations
# counted, where one or two remain), each off by at most one epsilon; doubled for margin.
# Candidates within it of the best are measured again exactly.
_EPSILON = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class GalleryMatch:
    """The closest enrolled student to one face, and the closest *other* student."""

    student_id: int | None  # None when the gallery is empty
    distance: float
    runner_up_id: int | None
    runner_up_distance: float


NO_MATCH = GalleryMatch(None, float("inf"), None, float("inf"))


@dataclass(frozen=True)
class _View:
    embeddings: np.ndarray  # (N, D) float32, C-contiguous; rows past N may be filled later
    squared_norms: np.ndarray  # (N,) float32; +inf for a removed row, so it is never nearest
    student_ids: np.ndarray  # (N,) int64; REMOVED for a removed row
    templates: int  # rows not removed
    enrolled: np.ndarray  # sorted distinct owners of live rows
    largest_squared_norm: float  # bounds the rounding of every row's squared distance
    coarse: Int8Rows  # the same rows in int8, for the first pass of large searches

    @property
    def students(self) -> int:
        """Distinct students: the number of people a check-in searches."""
        return len(self.enrolled)


def _view(
    embeddings: np.ndarray,
    count: int,
    squared_norms: np.ndarray,
    student_ids: np.ndarray,
    coarse: Int8Rows,
    enrolled: np.ndarray | None = None,
) -> _View:
    """`enrolled`: the sorted distinct live owners when the caller knows them (a delta
    updates them in O(students) instead of sorting every row again)."""
    live = student_ids != REMOVED
    return _View(
        coarse=coarse,
        embeddings=embeddings[:count],
        squared_norms=squared_norms,
        student_ids=student_ids,
        templates=int(live.sum()),
        enrolled=np.unique(student_ids[live]) if enrolled is None else enrolled,
        largest_squared_norm=float(squared_norms[live].max()) if live.any() else 0.0,
    )


class Gallery:
    def __init__(
        self,
        dimension: int,
        distance: DistanceFn,
        coarse_from_rows: int | None = None,
        search_threads: int = 1,
    ) -> None:
        self.dimension = dimension
        self._distance = distance
        # From this many rows (templates and removed rows) the search's first pass is int8.
        self._coarse_from_rows = COARSE_FROM_ROWS if coarse_from_rows is None else coarse_from_rows
        self._search_threads = search_threads  # for the int8 pass (ONNX Runtime's own pool)
        self._write_lock = threading.Lock()
        self._storage = np.zeros((0, dimension), np.float32)  # the views' matrix, with room
        self._coarse_storage = np.zeros((0, dimension), np.int8)  # its int8 copy, same room
        empty = np.zeros((0, dimension), np.float32)
        self._view = _view(
            empty, 0, np.zeros(0, np.float32), np.zeros(0, np.int64), quantize(empty)
        )

    def __len__(self) -> int:
        return self._view.templates

    @property
    def student_count(self) -> int:
        return self._view.students

    def load(self, templates: Iterable[tuple[int, np.ndarray]]) -> None:
        """Replace everything with these (student id, embedding) pairs."""
        rows = list(templates)
        embeddings = np.zeros((len(rows), self.dimension), np.float32)
        for index, (_, embedding) in enumerate(rows):
            embeddings[index] = embedding
        self.load_matrix(np.array([sid for sid, _ in rows], dtype=np.int64), embeddings)

    def load_matrix(self, student_ids: np.ndarray, embeddings: np.ndarray) -> None:
        """Replace everything with these rows: (N,) owners and their (N, D) embeddings."""
        with self._write_lock:
            self._publish(np.asarray(student_ids, np.int64), np.asarray(embeddings, np.float32))

    def replace_students(
        self, students: Collection[int], student_ids: np.ndarray, embeddings: np.ndarray
    ) -> None:
        """The delta: `students` now own exactly these rows (none: they left the gallery)."""
        student_ids = np.asarray(student_ids, np.int64)
        if not set(np.unique(student_ids).tolist()) <= set(students):
            raise ValueError("every new row must belong to one of the students replaced")
        embeddings = np.asarray(embeddings, np.float32).reshape(len(student_ids), self.dimension)
        with self._write_lock:
            view = self._view
            owners = view.student_ids.copy()
            norms = view.squared_norms.copy()
            replaced = np.fromiter(students, np.int64, len(students))
            leaving = np.isin(owners, replaced)
            owners[leaving], norms[leaving] = REMOVED, np.inf
            live = owners != REMOVED
            if (len(owners) - live.sum()) * 4 > len(owners):  # a quarter removed: compact
                kept = view.embeddings[live]
                self._publish(
                    np.concatenate([owners[live], student_ids]),
                    np.concatenate([kept, embeddings]),
                )
                return
            count = len(owners) + len(student_ids)
            if count > len(self._storage):  # grow by half, so appends cost O(1) amortised
                self._storage = _grown(self._storage, len(owners), count + count // 2 + 64)
                self._coarse_storage = _grown(self._coarse_storage, len(owners), len(self._storage))
            added = quantize(embeddings)
            self._storage[len(owners) : count] = embeddings  # past every view's end
            self._coarse_storage[len(owners) : count] = added.values
            staying = view.enrolled[~np.isin(view.enrolled, replaced)]
            arriving = np.unique(student_ids)  # all among `replaced`: none is staying
            self._view = _view(
                self._storage,
                count,
                np.concatenate([norms, _squared_norms(embeddings)]),
                np.concatenate([owners, student_ids]),
                view.coarse.extended(self._coarse_storage[:count], added),
                np.insert(staying, np.searchsorted(staying, arriving), arriving),
            )

    def _publish(self, student_ids: np.ndarray, embeddings: np.ndarray) -> None:
        """A new matrix for exactly these rows (room for a few more), as the view."""
        count = len(student_ids)
        self._storage = np.empty((count + count // 16 + 64, self.dimension), np.float32)
        self._storage[:count] = embeddings
        coarse = quantize(embeddings)
        self._coarse_storage = np.empty(self._storage.shape, np.int8)
        self._coarse_storage[:count] = coarse.values
        coarse = Int8Rows(
            self._coarse_storage[:count],
            coarse.scales,
            coarse.largest_residual,
            coarse.largest_norm,
        )
        self._view = _view(self._storage, count, _squared_norms(embeddings), student_ids, coarse)

    def students_among(self, restrict_to: np.ndarray) -> int:
        """How many of these students the gallery holds: the people a restricted search
        compares with, which its threshold must follow."""
        enrolled = self._view.enrolled
        wanted = np.unique(np.asarray(restrict_to, np.int64))
        at = np.minimum(np.searchsorted(enrolled, wanted), max(len(enrolled) - 1, 0))
        return int((enrolled[at] == wanted).sum()) if len(enrolled) else 0

    def search(
        self,
        queries: np.ndarray,
        exclude_student: int | None = None,
        restrict_to: np.ndarray | None = None,
    ) -> list[GalleryMatch]:
        """For each (D,) query embedding, the best and runner-up students by distance.

        `restrict_to`: search only these students (a course's roster); ids the gallery does
        not hold are ignored. Only their rows are multiplied: a roster search costs its size.
        """
        view = self._view
        if restrict_to is not None:
            view = _restricted(view, restrict_to)
        queries = np.ascontiguousarray(queries, np.float32).reshape(-1, self.dimension)
        if len(queries) == 0:
            return []
        # Ranked by |g|² - 2 q·g: |q|² is the same for every row (the exact distances of the
        # candidates are measured again), and -2 q is exact (a power of two), so the product
        # gives -2 q·g at once: two passes over a million figures fewer.
        doubled = -2 * queries
        if len(view.student_ids) >= self._coarse_from_rows:
            # Each row's ranking figure is off by the doubled product's error: twice that
            # between the two rows compared.
            ranking, dot_errors = approximate_dots(view.coarse, doubled, self._search_threads)
            coarse_tolerances = 2 * dot_errors
        else:
            ranking = doubled @ view.embeddings.T  # (Q, N): the one BLAS call
            coarse_tolerances = np.zeros(len(queries))
        ranking += view.squared_norms
        query_norms = np.einsum("ij,ij->i", queries, queries)
        if exclude_student is not None:
            ranking[:, view.student_ids == exclude_student] = np.inf
        return [
            self._match(view, query, row, float(norm), float(coarse))
            for query, row, norm, coarse in zip(
                queries, ranking, query_norms, coarse_tolerances, strict=True
            )
        ]

    def _match(
        self,
        view: _View,
        query: np.ndarray,
        ranking: np.ndarray,
        query_norm: float,
        coarse_tolerance: float,
    ) -> GalleryMatch:
        rounding = 2 * (self.dimension + 3) * _EPSILON * (query_norm + view.largest_squared_norm)
        tolerance = rounding + coarse_tolerance
        best = self._nearest(view, query, ranking, tolerance)
        if best is None:
            return NO_MATCH
        best_id, best_distance = best
        # The runner-up must be another student: hide every template of the best one (in
        # place: `ranking` is this query's own row of the product).
        ranking[view.student_ids == best_id] = np.inf
        runner_up = self._nearest(view, query, ranking, tolerance)
        runner_up_id, runner_up_distance = runner_up or (None, float("inf"))
        return GalleryMatch(best_id, best_distance, runner_up_id, runner_up_distance)

    def _nearest(
        self, view: _View, query: np.ndarray, ranking: np.ndarray, tolerance: float
    ) -> tuple[int, float] | None:
        """The owner of the nearest finite row and its exact distance, or None."""
        if len(ranking) == 0:
            return None
        lowest = ranking[ranking.argmin()]
        if not np.isfinite(lowest):
            return None
        candidates = np.flatnonzero(ranking <= lowest + tolerance)
        distances = self._distance(query[None], view.embeddings[candidates])[0]
        nearest = int(distances.argmin())
        return int(view.student_ids[candidates[nearest]]), float(distances[nearest])


def _restricted(view: _View, students: np.ndarray) -> _View:
    """The view of only these students' rows (copied: a roster is small)."""
    rows = np.flatnonzero(np.isin(view.student_ids, students))
    coarse = view.coarse
    coarse = Int8Rows(
        coarse.values[rows], coarse.scales[rows], coarse.largest_residual, coarse.largest_norm
    )
    return _view(
        view.embeddings[rows], len(rows), view.squared_norms[rows], view.student_ids[rows], coarse
    )


def _grown(storage: np.ndarray, used: int, rows: int) -> np.ndarray:
    """A storage of `rows` rows holding the first `used` of this one."""
    grown = np.empty((rows, storage.shape[1]), storage.dtype)
    grown[:used] = storage[:used]
    return grown


def _squared_norms(embeddings: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", embeddings, embeddings).astype(np.float32)
