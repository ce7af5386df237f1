"""A check-in right after an enrollment, with 100,000 enrolled templates: delta vs full reload.

A real app (TestClient, SQLite file, the default model) over a database seeded with random
templates of the model's weights. Each round re-enrolls one student through the API (their
photo replaced), then times the next check-in twice: once as it runs now (the worker applies
the one-student delta) and once with the worker made to read the whole gallery again (what
every check-in after an enrollment paid before the change log), alternating, in the same run.

    python bench/gallery_sync.py [--templates 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from app.core.config import Settings
from app.core.db import Database
from app.core.migrate import upgrade
from app.core.tables import FaceTemplate, Student
from app.main import create_app
from app.search.store import bump_gallery_revision
from models.embedder import FaceEmbedder

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
KEY = "bench-admin-key-0123456789"


def seed(url: str, templates: int, version: str, dimension: int) -> None:
    """`templates` random unit vectors, two per student, in chunks of one transaction each."""
    rng = np.random.default_rng(0)
    db = Database(url)
    with db.session() as session:
        for start in range(0, templates // 2, 5000):
            students = range(start, min(start + 5000, templates // 2))
            session.execute(
                insert(Student),
                [{"external_id": f"seed{i}", "name": f"seed {i}"} for i in students],
            )
        session.flush()
        ids = list(session.scalars(select(Student.id)))
        rows = rng.normal(size=(len(ids) * 2, dimension)).astype("<f4")
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        values = [
            {
                "student_id": ids[i // 2],
                "backbone": "seed",
                "weights_version": version,
                "embedding": rows[i].tobytes(),
                "box": [0.0, 0.0, 1.0, 1.0],
                "quality": 1.0,
            }
            for i in range(len(rows))
        ]
        for start in range(0, len(values), 10_000):
            session.execute(insert(FaceTemplate), values[start : start + 10_000])
        bump_gallery_revision(session)
        session.commit()
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--templates", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--faces", type=Path, default=FACES)
    args = parser.parse_args()
    obama = args.faces / "people" / "barack_obama"
    embedder = FaceEmbedder()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/rollcall.db"
        upgrade(url)
        seed(url, args.templates, embedder.version, embedder.spec.embedding_dim)
        settings = Settings(_env_file=None, database_url=url, admin_key=KEY)
        with TestClient(create_app(settings, embedder), headers={"X-API-Key": KEY}) as client:
            store = client.app.state.context.gallery_store
            student = client.post("/api/v1/students", json={"external_id": "O", "name": "O"})
            photo_url = f"/api/v1/students/{student.json()['id']}/photo"
            reference, probe = (
                (obama / "obama.jpg").read_bytes(),
                (obama / "obama2.jpg").read_bytes(),
            )
            timings: dict[str, list[float]] = {"delta": [], "full reload": []}
            for _ in range(args.rounds):
                for mode in timings:
                    # ?replace=true: the same one-student delta every round, and never more
                    # than ROLLCALL_MAX_PHOTOS_PER_STUDENT photos (adding one per post stopped
                    # at the 6th with 409 too_many_photos: 2 posts a round, 5 rounds).
                    enrolled = client.post(
                        f"{photo_url}?replace=true", files={"file": ("o.jpg", reference)}
                    )
                    assert enrolled.is_success, enrolled.text
                    if mode == "full reload":
                        store.revision = -1  # as before the log: read every template again
                    start = time.perf_counter()
                    answer = client.post("/api/v1/checkins", files={"file": ("p.jpg", probe)})
                    timings[mode].append(time.perf_counter() - start)
                    assert answer.is_success and len(answer.json()["faces"]) == 1
            print(
                f"check-in right after an enrollment, {len(store.gallery)} templates; "
                f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )
            for mode, seconds in timings.items():
                print(f"  {mode:12} median {statistics.median(seconds) * 1e3:7.1f} ms")
            ratio = statistics.median(timings["delta"]) / statistics.median(timings["full reload"])
            print(f"  delta / full reload = {ratio:.2f}x")


if __name__ == "__main__":
    main()
