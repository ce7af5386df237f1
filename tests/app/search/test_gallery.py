"""The in-memory gallery: vectorised search, and reloads that only ever move forward."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.search.gallery import Gallery
from tests.support.helpers import enroll_five


def _euclidean(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.linalg.norm(queries[:, None, :] - gallery[None, :, :], axis=2)


def test_search_finds_best_and_runner_up_among_other_students() -> None:
    gallery = Gallery(2, _euclidean)
    gallery.load([(1, np.array([0.0, 0.0])), (1, np.array([0.1, 0.0])), (2, np.array([1.0, 0.0]))])
    [match] = gallery.search(np.array([[0.09, 0.0]]))
    assert match.student_id == 1 and abs(match.distance - 0.01) < 1e-6
    assert match.runner_up_id == 2 and abs(match.runner_up_distance - 0.91) < 1e-6  # not 1 again
    [alone] = gallery.search(np.array([[0.0, 0.0]]), exclude_student=1)
    assert alone.student_id == 2 and alone.runner_up_id is None
    assert Gallery(2, _euclidean).search(np.zeros((1, 2)))[0].student_id is None
    assert len(gallery) == 3 and gallery.student_count == 2


@pytest.mark.slow
def test_an_older_snapshot_never_reloads_over_a_newer_gallery(
    client: TestClient, faces_dir: Path
) -> None:
    enroll_five(client, faces_dir)
    context = client.app.state.context
    store = context.gallery_store
    store.sync()
    current = store.revision
    assert len(context.gallery) == 5
    store.revision = current + 1  # as if a newer revision had been loaded
    context.gallery.load([])
    store.sync()  # the database's revision is older: nothing happens
    assert len(context.gallery) == 0
    store.revision = -1  # nothing loaded: the whole gallery is read
    store.sync()
    assert len(context.gallery) == 5 and store.revision == current


def test_metrics_labels_and_refusals_are_observed(client: TestClient) -> None:
    assert client.get("/api/v1/students/v1").status_code == 422
    upload = {"file": ("big.jpg", b"0" * (11 * 1024 * 1024))}
    # Refused by the guard, before routing: one photo's body is over the limit.
    big = client.post("/api/v1/students/1/photo", files=upload)
    assert big.status_code == 413 and big.headers["X-Request-ID"]
    # A check-in's body may carry a burst: its frame over the limit is refused by the route.
    frame = client.post("/api/v1/checkins", files=upload)
    assert frame.status_code == 413 and frame.headers["X-Request-ID"]
    metrics = client.get("/metrics").text
    assert 'route="/api/v1/students/{student_id}",status="422"' in metrics
    assert 'method="POST",route="unmatched",status="413"' in metrics
    assert 'method="POST",route="/api/v1/checkins",status="413"' in metrics
