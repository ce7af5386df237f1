"""The per-student photo limit under concurrent adds, on SQLite and PostgreSQL: real threads
released by a barrier, a real photo's face, a real database (on PostgreSQL, 10
parallel adds to a student holding 4 left 9-11 templates; the limit is 5)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.context import ServiceContext
from app.core.errors import Conflict
from app.core.tables import FaceTemplate
from app.services.enrollment import enrollment_face, store_template
from app.services.students import get_student
from tests.support.helpers import post_file

ADDS = 10


def test_concurrent_adds_never_pass_the_photo_limit(client: TestClient, faces_dir: Path) -> None:
    context: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    limit = context.settings.max_photos_per_student
    student = client.post("/api/v1/students", json={"external_id": "kit", "name": "Kit"}).json()
    photos = sorted((faces_dir / "people" / "kit_harington").glob("*.jpg"))
    for held in range(limit - 1):  # one place left
        added = post_file(client, f"/api/v1/students/{student['id']}/photo", photos[held % 3])
        assert added.status_code == 200, added.text
    data = photos[0].read_bytes()
    face = enrollment_face(context, data).face  # the slow part, once: the race is the write
    barrier = threading.Barrier(ADDS)

    def add(_: int) -> str:
        with context.db.session() as db:
            barrier.wait(timeout=120)
            try:
                store_template(
                    context, db, get_student(db, student["id"]), face, data, replace=False
                )
                db.commit()
            except Conflict as exc:
                return exc.code
            return "added"

    with ThreadPoolExecutor(max_workers=ADDS) as pool:
        outcomes = sorted(pool.map(add, range(ADDS)))
    assert outcomes == ["added"] + ["too_many_photos"] * (ADDS - 1)
    with context.db.read_session() as db:
        held = db.scalar(select(func.count()).where(FaceTemplate.student_id == student["id"]))
    assert held == limit
    assert len(client.get(f"/api/v1/students/{student['id']}/photos").json()) == limit
