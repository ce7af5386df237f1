"""Delta sync: a worker that applies the change log holds what a full reload would read."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sqlalchemy import delete, select, update

from app.core.db import Database
from app.core.migrate import upgrade
from app.core.tables import FaceTemplate, GalleryChange, Student
from app.search import store as gallery_store
from app.search.gallery import Gallery
from app.search.store import GalleryStore, bump_gallery_revision
from models.siamese import pairwise_distances

DIMENSION = 8
OURS = "our-weights"


def _distances(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return pairwise_distances(torch.from_numpy(queries), torch.from_numpy(gallery)).numpy()


def _store(db: Database) -> GalleryStore:
    return GalleryStore(db, Gallery(DIMENSION, _distances), OURS)


def _template(rng: np.random.Generator, student_id: int) -> FaceTemplate:
    # One in ten made by other weights: stale, counted but never searched.
    version = OURS if rng.random() > 0.1 else "other-weights"
    return FaceTemplate(
        student_id=student_id,
        backbone="test",
        weights_version=version,
        embedding=rng.normal(size=DIMENSION).astype("<f4").tobytes(),
        box=[0.0, 0.0, 1.0, 1.0],
        quality=1.0,
    )


def _random_change(db: Database, rng: np.random.Generator, step: int) -> None:
    """One writer transaction, as the services make them: a change and its bump."""
    with db.session() as session:
        students = list(session.scalars(select(Student.id)))
        templates = list(session.scalars(select(FaceTemplate)))
        kind = rng.choice(
            ["enroll", "add", "remove", "replace", "toggle", "delete", "all"],
            p=[0.2, 0.25, 0.15, 0.15, 0.15, 0.05, 0.05],
        )
        if kind == "enroll" or not students:
            student = Student(external_id=f"s{step}", name=f"s{step}")
            session.add(student)
            session.flush()
            session.add(_template(rng, student.id))
            changed: list[int] | None = [student.id]
        elif kind == "add":
            student_id = int(rng.choice(students))
            session.add(_template(rng, student_id))
            changed = [student_id]
        elif kind in ("remove", "replace") and templates:
            template = templates[int(rng.integers(len(templates)))]
            changed = [template.student_id]
            if kind == "remove":
                session.delete(template)
            else:
                template.embedding = rng.normal(size=DIMENSION).astype("<f4").tobytes()
        elif kind == "toggle":
            student_id = int(rng.choice(students))
            session.execute(
                update(Student).where(Student.id == student_id).values(active=~Student.active)
            )
            changed = [student_id]
        elif kind == "delete":
            student_id = int(rng.choice(students))
            session.execute(delete(FaceTemplate).where(FaceTemplate.student_id == student_id))
            session.execute(delete(Student).where(Student.id == student_id))
            changed = [student_id]
        else:  # e.g. templates renamed to new weights: anything may have changed
            changed = None
        bump_gallery_revision(session, changed)
        session.commit()


def _assert_same(synced: GalleryStore, reloaded: GalleryStore, rng: np.random.Generator) -> None:
    assert synced.revision == reloaded.revision
    assert len(synced.gallery) == len(reloaded.gallery)
    assert synced.gallery.student_count == reloaded.gallery.student_count
    assert synced.stale_templates == reloaded.stale_templates
    queries = rng.normal(size=(40, DIMENSION)).astype(np.float32)
    assert synced.gallery.search(queries) == reloaded.gallery.search(queries)


@pytest.mark.slow
def test_delta_sync_equals_a_full_reload(database_url: str) -> None:
    upgrade(database_url)
    db = Database(database_url)
    rng = np.random.default_rng(5)
    try:
        worker = _store(db)
        worker.sync()
        for step in range(150):
            _random_change(db, rng, step)
            if rng.random() < 0.5:  # a worker sees one change or several at once
                worker.sync()
            if step % 30 == 29:
                reloaded = _store(db)
                reloaded.sync()
                worker.sync()
                _assert_same(worker, reloaded, rng)
        # Whole-gallery changes were the only full reads after the first.
        with db.read_session() as session:
            wholesale = set(
                session.scalars(
                    select(GalleryChange.revision).where(GalleryChange.student_id.is_(None))
                )
            )
        assert 1 <= worker.full_loads <= 1 + len(wholesale)
        assert len(worker.gallery) > 10
    finally:
        db.dispose()


def test_a_worker_behind_the_trimmed_log_reloads_in_full(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery_store, "LOG_KEPT", 6)
    monkeypatch.setattr(gallery_store, "TRIM_EVERY", 4)
    upgrade(database_url)
    db = Database(database_url)
    rng = np.random.default_rng(9)
    try:
        worker, behind = _store(db), _store(db)
        worker.sync()
        behind.sync()
        for step in range(20):
            with db.session() as session:
                student = Student(external_id=f"s{step}", name=f"s{step}")
                session.add(student)
                session.flush()
                session.add(_template(rng, student.id))
                bump_gallery_revision(session, [student.id])
                session.commit()
            worker.sync()
        behind.sync()
        assert worker.full_loads == 1 and behind.full_loads == 2  # the start, then the trim
        reloaded = _store(db)
        reloaded.sync()
        _assert_same(worker, reloaded, rng)
        _assert_same(behind, reloaded, rng)
    finally:
        db.dispose()


def test_sync_does_not_wait_for_a_writer_holding_sqlite_write_lock(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'rollcall.db'}"
    upgrade(url)
    db = Database(url)
    rng = np.random.default_rng(1)
    try:
        with db.session() as session:
            student = Student(external_id="a", name="a")
            session.add(student)
            session.flush()
            session.add(_template(rng, student.id))
            bump_gallery_revision(session, [student.id])
            session.commit()
        store = _store(db)
        with db.session() as writer:  # holds the write lock (BEGIN IMMEDIATE) until it ends
            writer.add(Student(external_id="b", name="b"))
            writer.flush()
            store.sync()  # a read of the committed state: no busy wait of 30 s
            assert store.revision == 1
            writer.rollback()
    finally:
        db.dispose()
