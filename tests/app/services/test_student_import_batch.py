"""The roster import embeds its photos' chips in batches: the same templates as one by one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from app.context import ServiceContext
from app.core.observability import Metrics
from app.core.tables import FaceTemplate, Student, embedding_from_bytes
from app.services import student_import
from app.services.enrollment import enrollment_face
from app.services.student_import import ImportRow, PhotoSource, import_students
from tests.support.settings import make_settings

# Imports enrolled one by one and batched.
pytestmark = [pytest.mark.slow]


@pytest.fixture
def context(tmp_path: Path) -> Iterator[ServiceContext]:
    """The service's own context (ONNX Runtime, as `rollcall import` runs) on a SQLite file."""
    service = ServiceContext.start(make_settings(tmp_path), Metrics(), serving=True)
    yield service
    service.close()


def people_rows(faces_dir: Path) -> list[ImportRow]:
    """One row per identity in people/ (the first photo of each)."""
    rows = []
    for number, person in enumerate(sorted((faces_dir / "people").iterdir())):
        first = sorted(person.iterdir())[0]
        rows.append(
            ImportRow(number + 2, f"S{number:03}", person.name, f"{person.name}/{first.name}")
        )
    return rows


def stored_embeddings(context: ServiceContext) -> dict[str, np.ndarray]:
    with context.db.read_session() as session:
        rows = session.execute(select(Student.external_id, FaceTemplate.embedding).join(Student))
        return {external_id: embedding_from_bytes(data) for external_id, data in rows}


@pytest.mark.parametrize("batch", [4, 32])  # several batches with a short last one; one batch
def test_batched_import_enrolls_the_embeddings_of_one_by_one_enrollment(
    context: ServiceContext, faces_dir: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(student_import, "IMPORT_BATCH", batch)
    rows = people_rows(faces_dir)
    # A row whose photo is missing in the middle of a batch: it fails alone.
    rows.insert(3, ImportRow(100, "S100", "Missing Photo", "nobody.jpg"))
    photos = PhotoSource(faces_dir / "people", max_bytes=context.settings.max_upload_bytes)

    summary = import_students(context, rows, photos)

    assert [external_id for _, external_id, _ in summary.failed] == ["S100"]
    enrolled = [row for row in rows if row.external_id != "S100"]
    assert summary.enrolled == [row.external_id for row in enrolled]
    assert len(enrolled) > batch or batch == 32  # the small batch really splits the roster
    stored = stored_embeddings(context)
    assert sorted(stored) == sorted(summary.enrolled)
    for row in enrolled:
        one_by_one = enrollment_face(context, photos.read(row.photo)).face.embedding
        np.testing.assert_allclose(stored[row.external_id], one_by_one, atol=1e-5, rtol=0)

    again = import_students(context, rows, photos)  # a re-run skips what is done
    assert again.enrolled == []
    assert len(again.skipped) == len(enrolled)
