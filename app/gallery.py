"""The enrolled faces, held in memory as one matrix and searched in one vectorised step.

`load` builds new arrays and swaps them in with one assignment, so a search never sees a
half-loaded gallery and never waits for a reload. The database is the truth: the service
reloads the gallery whenever the enrolled faces changed (see `ServiceContext.sync_gallery`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

DistanceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (Q, D), (N, D) -> (Q, N)


@dataclass(frozen=True)
class GalleryMatch:
    """The closest enrolled student to one face, and the closest *other* student."""

    student_id: int | None  # None when the gallery is empty
    distance: float
    runner_up_id: int | None
    runner_up_distance: float


@dataclass(frozen=True)
class _Snapshot:
    embeddings: np.ndarray  # (N, D) float32
    student_ids: np.ndarray  # (N,) int64; a student may own several rows
    students: int  # distinct students: the number of people a check-in searches


class Gallery:
    def __init__(self, dimension: int, distance: DistanceFn) -> None:
        self.dimension = dimension
        self._distance = distance
        self._snapshot = _Snapshot(np.zeros((0, dimension), np.float32), np.zeros(0, np.int64), 0)

    def __len__(self) -> int:
        return len(self._snapshot.student_ids)

    @property
    def student_count(self) -> int:
        return self._snapshot.students

    def load(self, templates: Iterable[tuple[int, np.ndarray]]) -> None:
        """Replace everything with these (student id, embedding) pairs."""
        rows = list(templates)
        embeddings = np.zeros((len(rows), self.dimension), np.float32)
        for index, (_, embedding) in enumerate(rows):
            embeddings[index] = embedding
        student_ids = np.array([sid for sid, _ in rows], dtype=np.int64)
        self._snapshot = _Snapshot(embeddings, student_ids, len(np.unique(student_ids)))

    def students_among(self, restrict_to: np.ndarray) -> int:
        """How many of these students the gallery holds: the people a restricted search
        compares with, which its threshold must follow."""
        return int(np.isin(np.unique(self._snapshot.student_ids), restrict_to).sum())

    def search(
        self,
        queries: np.ndarray,
        exclude_student: int | None = None,
        restrict_to: np.ndarray | None = None,
    ) -> list[GalleryMatch]:
        """For each (D,) query embedding, the best and runner-up students by distance.

        `restrict_to`: search only these students (a course's roster); ids the gallery does
        not hold are ignored.
        """
        snapshot = self._snapshot
        embeddings, student_ids = snapshot.embeddings, snapshot.student_ids
        if exclude_student is not None:
            keep = student_ids != exclude_student
            embeddings, student_ids = embeddings[keep], student_ids[keep]
        if restrict_to is not None:
            keep = np.isin(student_ids, restrict_to)
            embeddings, student_ids = embeddings[keep], student_ids[keep]
        if len(queries) == 0:
            return []
        if len(student_ids) == 0:
            return [GalleryMatch(None, float("inf"), None, float("inf")) for _ in queries]
        distances = self._distance(np.asarray(queries, np.float32), embeddings)
        best = distances.argmin(axis=1)
        best_ids = student_ids[best]
        # The runner-up must be another student: hide every template of the best one.
        others = np.where(student_ids[None, :] == best_ids[:, None], np.inf, distances)
        second = others.argmin(axis=1)
        rows = np.arange(len(queries))
        return [
            GalleryMatch(
                student_id=int(best_ids[i]),
                distance=float(distances[i, best[i]]),
                runner_up_id=int(student_ids[second[i]])
                if np.isfinite(others[i, second[i]])
                else None,
                runner_up_distance=float(others[i, second[i]]),
            )
            for i in rows
        ]
