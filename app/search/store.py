"""The in-memory gallery kept in step with the database: revisions, change log, loading.

Every writer records what it changed (`bump_gallery_revision`) in its own transaction: the
revision goes up by one and the change log names the students whose searchable templates are
to be read again. Each process's `GalleryStore` applies the changes past its own revision, a
delta of a few rows, and reads the whole gallery only at start, after a change to everything
(new weights' names), or when the log was trimmed past its revision.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.core.db import Database, unbounded
from app.core.tables import FaceTemplate, GalleryChange, GalleryState, Student, embedding_from_bytes
from app.search.gallery import Gallery

log = logging.getLogger(__name__)

# Revisions the log keeps: a worker further behind than this reads the whole gallery again,
# which costs about what applying that many single-student deltas would.
LOG_KEPT = 10_000
TRIM_EVERY = 1_000  # revisions between trims, so that a bump rarely pays for a DELETE
IN_CHUNK = 500  # students per IN (...) query: well under every backend's parameter limit


def bump_gallery_revision(session: Session, student_ids: Iterable[int] | None = None) -> int:
    """Mark, inside the writer's transaction, that these students' templates (or whether they
    are active) changed; None: anything may have. Returns the new revision."""
    result = session.execute(update(GalleryState).values(revision=GalleryState.revision + 1))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's: a CursorResult
        raise RuntimeError("the gallery_state row is missing: run `rollcall db upgrade`")
    revision = int(session.scalar(select(GalleryState.revision)) or 0)
    changed: list[int | None] = [None] if student_ids is None else [*sorted(set(student_ids))]
    if changed:
        session.execute(
            insert(GalleryChange), [{"revision": revision, "student_id": s} for s in changed]
        )
    if revision % TRIM_EVERY == 0 and revision > LOG_KEPT:
        trimmed = revision - LOG_KEPT
        session.execute(delete(GalleryChange).where(GalleryChange.revision <= trimmed))
        session.execute(update(GalleryState).values(log_start=trimmed))
    return revision


# Template rows as the store reads them: active students' only (owner, bytes, weights).
SEARCHABLE = (
    select(FaceTemplate.student_id, FaceTemplate.embedding, FaceTemplate.weights_version)
    .join(Student)
    .where(Student.active)
)


class GalleryStore:
    """Owns one process's gallery: loads it, applies the database's changes, counts the
    templates left out because other weights made them (another space: comparing is noise)."""

    def __init__(self, db: Database, gallery: Gallery, weights_version: str) -> None:
        self.db = db
        self.gallery = gallery
        self.weights_version = weights_version
        self.revision = -1  # the database revision the gallery holds; -1: nothing loaded
        self.full_loads = 0  # whole-gallery reads so far (the rest were deltas)
        self._stale: dict[int, int] = {}  # student id -> their templates of other weights
        self._lock = threading.Lock()

    @property
    def stale_templates(self) -> int:
        return sum(self._stale.values())

    def sync(self) -> None:
        """Bring the gallery to the database's latest revision.

        Reads through a read-only session of its own: callers sync BEFORE their write
        transaction, so that no reload holds SQLite's write lock.
        """
        with self.db.read_session() as session:
            if self.db.engine.dialect.name == "postgresql":
                # One snapshot for the state, the log and the templates (SQLite's read
                # transactions already are one).
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            revision, log_start = session.execute(
                select(GalleryState.revision, GalleryState.log_start)
            ).one()
            if revision <= self.revision:  # revisions only go up: never load older data
                return
            with self._lock:
                if revision <= self.revision:
                    return
                self._catch_up(session, revision, log_start)
                self.revision = revision

    def _catch_up(self, session: Session, revision: int, log_start: int) -> None:
        changed: set[int | None] = set()
        if self.revision >= log_start:
            changed = set(
                session.scalars(
                    select(GalleryChange.student_id).where(
                        GalleryChange.revision > self.revision,
                        GalleryChange.revision <= revision,
                    )
                )
            )
        if self.revision < log_start or None in changed:
            self._load_all(session)
            return
        students = sorted(s for s in changed if s is not None)
        for start in range(0, len(students), IN_CHUNK):
            chunk = students[start : start + IN_CHUNK]
            rows = session.execute(SEARCHABLE.where(FaceTemplate.student_id.in_(chunk))).all()
            owners, embeddings = self._usable(rows, chunk)
            self.gallery.replace_students(chunk, owners, embeddings)

    def _load_all(self, session: Session) -> None:
        # A million rows may take longer than a request may wait on the database.
        rows = session.execute(SEARCHABLE, execution_options=unbounded(session)).all()
        self._stale.clear()
        owners, embeddings = self._usable(rows, ())
        self.gallery.load_matrix(owners, embeddings)
        self.full_loads += 1
        if self._stale:
            log.warning(
                "%d enrolled templates were made by other weights than %s and are not searched; "
                "re-embed them (`rollcall reembed`, needs kept photos) or re-enroll the students",
                self.stale_templates,
                self.weights_version,
            )

    def _usable(
        self, rows: Sequence[tuple[int, bytes, str]], students: Iterable[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Our weights' rows as (owners, matrix); the rest counted as stale per student."""
        for student in students:
            self._stale.pop(student, None)
        owners, blobs = [], []
        for student_id, embedding, version in rows:
            if version == self.weights_version:
                owners.append(student_id)
                blobs.append(embedding)
            else:
                self._stale[student_id] = self._stale.get(student_id, 0) + 1
        matrix = embedding_from_bytes(b"".join(blobs))  # one copy for all rows
        return np.array(owners, dtype=np.int64), matrix.reshape(len(blobs), self.gallery.dimension)
