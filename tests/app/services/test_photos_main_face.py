"""Enrollment takes a photo's main face when the other faces are background: smaller, blurred
or cut off by the border (with a warning saying so); two faces of similar size still refuse."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFilter

from app.context import ServiceContext
from app.core.config import Settings
from app.core.observability import Metrics
from app.services.student_import import ImportRow, PhotoSource, import_students
from models.embedder import FaceEmbedder
from models.image import load_image
from tests.support.helpers import post_bytes, post_file
from tests.support.settings import REPO, count_rows, make_settings

STUDENTS = "/api/v1/students"
CHECKIN = "/api/v1/checkins"
LFW_DIR = Path(os.environ.get("ROLLCALL_LFW_DIR", REPO.parent / "shared" / "lfw-devtrain"))
# kit3.jpg (768x1154): Kit's face is 172x232 px at (263, 144); rose1.jpg's face with a margin.
ROSE_FACE = (594, 20, 914, 440)


def kit_with_pasted_rose(
    faces_dir: Path, width: int, at: tuple[int, int], blur: float = 0
) -> bytes:
    """kit3.jpg with rose1.jpg's face pasted in, `width` px wide, its top left at `at`;
    `blur`: a Gaussian blur of that much over the pasted face and around it (no sharp paste
    edges left: a bystander out of focus, as a lens's depth of field makes one)."""
    photo = Image.open(faces_dir / "people" / "kit_harington" / "kit3.jpg").convert("RGB")
    rose = Image.open(faces_dir / "people" / "rose_leslie" / "rose1.jpg").convert("RGB")
    face = rose.crop(ROSE_FACE)
    face = face.resize((width, round(width * face.height / face.width)), Image.Resampling.LANCZOS)
    photo.paste(face, at)
    if blur:
        x, y = at
        region = (x - 40, y - 40, min(photo.width, x + face.width + 40), y + face.height + 40)
        photo.paste(photo.crop(region).filter(ImageFilter.GaussianBlur(blur)), region[:2])
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=92)
    return out.getvalue()


def _kit_box(embedder: FaceEmbedder, faces_dir: Path) -> np.ndarray:
    [face] = embedder.aligned_faces(faces_dir / "people" / "kit_harington" / "kit3.jpg")
    return face.box


def _student(client: TestClient, external_id: str) -> int:
    return client.post(STUDENTS, json={"external_id": external_id, "name": external_id}).json()[
        "id"
    ]


def _assert_kit_enrolled_not_rose(client: TestClient, faces_dir: Path, kit: int) -> None:
    """Kit's other photo checks in as the student; Rose's other photo is nobody."""
    [face] = post_file(client, CHECKIN, faces_dir / "people" / "kit_harington" / "kit1.jpg").json()[
        "faces"
    ]
    assert face["decision"] == "present" and face["student"]["id"] == kit, face
    [face] = post_file(client, CHECKIN, faces_dir / "people" / "rose_leslie" / "rose2.jpg").json()[
        "faces"
    ]
    assert face["decision"] == "unknown" and face["student"] is None, face


def _assert_background_ignored(answer: dict, faces: int) -> None:
    assert answer["faces_in_photo"] == faces
    [warning] = answer["warnings"]
    assert warning["code"] == "background_faces_ignored"
    assert f"{faces - 1} background face" in warning["message"]
    assert warning["student"] is None and warning["distance"] is None


@pytest.mark.slow
def test_a_small_background_face_is_ignored_and_the_main_face_enrolled(
    client: TestClient, faces_dir: Path, embedder: FaceEmbedder
) -> None:
    # Rose's face at 110 px wide (84x111 as detected): 0.23 of Kit's box area.
    photo = kit_with_pasted_rose(faces_dir, 110, (40, 700))
    kit = _student(client, "K")
    enrolled = post_bytes(client, f"{STUDENTS}/{kit}/photo", "kit.jpg", photo)
    assert enrolled.status_code == 200, enrolled.text
    answer = enrolled.json()
    _assert_background_ignored(answer, 2)
    np.testing.assert_allclose(answer["box"], _kit_box(embedder, faces_dir), atol=2)
    _assert_kit_enrolled_not_rose(client, faces_dir, kit)


def test_a_blurred_background_face_of_similar_size_is_ignored(
    client: TestClient, settings: Settings, faces_dir: Path
) -> None:
    """Rose at 0.78 of Kit's area: sharp, she competes; out of focus (sharpness 3.1, below the
    enrollment floor of 4: too blurred to enroll herself) she is background."""
    kit = _student(client, "K")
    url = f"{STUDENTS}/{kit}/photo"
    sharp = post_bytes(client, url, "kit.jpg", kit_with_pasted_rose(faces_dir, 200, (500, 600)))
    assert sharp.status_code == 422, sharp.text
    assert sharp.json()["error"]["code"] == "multiple_faces"
    assert count_rows(settings.database_url, "face_templates") == 0

    blurred = kit_with_pasted_rose(faces_dir, 200, (500, 600), blur=6)
    enrolled = post_bytes(client, url, "kit.jpg", blurred)
    assert enrolled.status_code == 200, enrolled.text
    _assert_background_ignored(enrolled.json(), 2)  # the detector did find the blurred face
    _assert_kit_enrolled_not_rose(client, faces_dir, kit)


def test_a_neighbour_cut_by_the_border_is_ignored(
    client: TestClient, faces_dir: Path, embedder: FaceEmbedder
) -> None:
    """As large as the subject's face, or larger, but mostly outside the photo: a bystander."""
    kit = _student(client, "K")
    # Rose's face 240 px wide reaching 120 px past the right border (60% of its box inside).
    photo = kit_with_pasted_rose(faces_dir, 240, (640, 500))
    enrolled = post_bytes(client, f"{STUDENTS}/{kit}/photo", "kit.jpg", photo)
    assert enrolled.status_code == 200, enrolled.text
    _assert_background_ignored(enrolled.json(), 2)
    np.testing.assert_allclose(enrolled.json()["box"], _kit_box(embedder, faces_dir), atol=2)
    _assert_kit_enrolled_not_rose(client, faces_dir, kit)

    # A real LFW photo (250x250, the person centred): the largest face (118 px) is a neighbour
    # at the lower right, 61% of it outside; the person's own face is 117 px.
    if not (LFW_DIR / "people").is_dir():
        pytest.fail(f"LFW dev-train is missing: {LFW_DIR} (set ROLLCALL_LFW_DIR)")
    lfw = LFW_DIR / "people" / "Michael_Clarke_Duncan" / "Michael_Clarke_Duncan_0001.jpg"
    faces = embedder.aligned_faces(load_image(lfw.read_bytes()))
    assert len(faces) == 2 and max(f.box[2] for f in faces) > 250  # one reaches past the border
    other = _student(client, "M")
    enrolled = post_file(client, f"{STUDENTS}/{other}/photo", lfw)
    assert enrolled.status_code == 200, enrolled.text
    _assert_background_ignored(enrolled.json(), 2)
    x1, y1, x2, y2 = enrolled.json()["box"]
    assert abs((x1 + x2) / 2 - 125) < 30 and abs((y1 + y2) / 2 - 125) < 30  # the centred face


def test_faces_of_similar_size_still_refuse(
    client: TestClient, settings: Settings, faces_dir: Path
) -> None:
    student = _student(client, "X")
    url = f"{STUDENTS}/{student}/photo"
    group = faces_dir / "group"
    # Area ratios of the two largest faces: 1.03, 1.47, 1.2 (and a child cut at the lower right).
    for name in ("two_people.jpg", "kit_with_rose.jpg", "obama_and_biden.jpg"):
        refused = post_file(client, url, group / name)
        assert refused.status_code == 422, (name, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "multiple_faces" and error["details"]["faces"] >= 2, error
    assert count_rows(settings.database_url, "face_templates") == 0


def test_the_roster_import_enrolls_the_main_face_with_the_warning(
    tmp_path: Path, faces_dir: Path, embedder: FaceEmbedder
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "kit.jpg").write_bytes(kit_with_pasted_rose(faces_dir, 110, (40, 700)))
    (folder / "pair.jpg").write_bytes((faces_dir / "group" / "two_people.jpg").read_bytes())
    rows = [ImportRow(2, "K", "Kit", "kit.jpg"), ImportRow(3, "P", "Pair", "pair.jpg")]
    context = ServiceContext.start(
        make_settings(tmp_path), Metrics(), embedder=embedder, serving=True
    )
    try:
        summary = import_students(context, rows, PhotoSource(folder, max_bytes=10_000_000))
    finally:
        context.close()
    assert summary.enrolled == ["K"]
    [(line, external_id, why)] = summary.failed
    assert (line, external_id) == (3, "P") and why.startswith("multiple_faces")
    [(external_id, message)] = summary.warnings
    assert external_id == "K" and "1 background face" in message
