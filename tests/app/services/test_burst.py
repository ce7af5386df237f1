"""Look again: a borderline face answers `retry` (nothing marked); a burst of frames of the
same person fuses them and answers with confidence. On the shared photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.helpers import enroll_five
from tests.support.settings import ADMIN_KEY, count_rows, make_settings

CHECKIN = "/api/v1/checkins"


@pytest.mark.slow
def test_a_borderline_frame_answers_retry_and_a_burst_of_it_answers_present(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    """alex2.jpg lies 0.514 from the enrolled alex1.png; the threshold among 5 people is 0.553
    (mirror-averaged, the default): 0.038 from it, inside a 0.06 band. Fused with alex3.jpg
    (another photo of him) the face lies 0.469 away: outside the band, present."""
    settings = make_settings(tmp_path, retry_band=0.06, one_frame_retry_band=(0.06, 0.06))
    alex = faces_dir / "people" / "alex_lacamoire"
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        ids = enroll_five(client, faces_dir)
        alone = client.post(CHECKIN, files={"file": ("a.jpg", (alex / "alex2.jpg").read_bytes())})
        [face] = alone.json()["faces"]
        assert face["decision"] == "retry", face
        assert face["student"] is None  # no name for a face not told apart yet
        assert abs(face["distance"] - face["threshold"]) < 0.06
        assert count_rows(settings.database_url, "attendance") == 0  # nothing marked...
        assert count_rows(settings.database_url, "checkin_attempts") == 1  # ...but logged

        frames = [
            ("file", (name, (alex / name).read_bytes())) for name in ("alex2.jpg", "alex3.jpg")
        ]
        burst = client.post(CHECKIN, files=frames)
        assert burst.status_code == 200, burst.text
        [face] = burst.json()["faces"]  # one person in both frames: one answer
        assert face["frames"] == 2
        assert face["decision"] == "present" and face["student"]["id"] == ids["alex_lacamoire"]
        assert face["threshold"] - face["distance"] > 0.06
        assert count_rows(settings.database_url, "attendance") == 1


@pytest.mark.slow
def test_one_frame_is_decided_with_its_own_band_and_a_burst_with_the_bursts(
    tmp_path: Path, embedder: FaceEmbedder, faces_dir: Path
) -> None:
    """No band for one frame, 0.09 for a burst (ROLLCALL_RETRY_BAND): alex2.jpg alone, 0.038
    under the threshold, is present; fused with alex3.jpg (0.083 under it) it is within the
    burst's band: retry."""
    settings = make_settings(tmp_path, retry_band=0.09, one_frame_retry_band=(0.0, 0.0))
    alex = faces_dir / "people" / "alex_lacamoire"
    with TestClient(create_app(settings, embedder), headers={"X-API-Key": ADMIN_KEY}) as client:
        ids = enroll_five(client, faces_dir)
        frames = [
            ("file", (name, (alex / name).read_bytes())) for name in ("alex2.jpg", "alex3.jpg")
        ]
        burst = client.post(CHECKIN, files=frames)
        [face] = burst.json()["faces"]
        assert face["frames"] == 2 and face["decision"] == "retry", face
        assert 0 < face["threshold"] - face["distance"] < 0.09
        alone = client.post(CHECKIN, files={"file": ("a.jpg", (alex / "alex2.jpg").read_bytes())})
        [face] = alone.json()["faces"]
        assert face["decision"] == "present" and face["student"]["id"] == ids["alex_lacamoire"]
        assert 0 < face["threshold"] - face["distance"] < 0.09  # a burst's band would ask again


@pytest.mark.slow
def test_a_burst_of_a_group_answers_once_per_person_and_refuses_too_many_frames(
    client: TestClient, faces_dir: Path
) -> None:
    enroll_five(client, faces_dir)
    group = (faces_dir / "group" / "kit_with_rose.jpg").read_bytes()
    burst = client.post(CHECKIN, files=[("file", ("f.jpg", group))] * 3)
    faces = burst.json()["faces"]
    assert sorted(f["student"]["name"] for f in faces) == ["kit harington", "rose leslie"]
    assert all(f["frames"] == 3 and f["decision"] == "present" for f in faces)
    too_many = client.post(CHECKIN, files=[("file", ("f.jpg", group))] * 9)  # the limit's 8
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "burst_size"
