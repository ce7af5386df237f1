"""Fixtures of the models tests: a scratch working directory, a small real dataset, and the
face detector of the liveness tests on LFW dev-train."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from models.detection import FaceDetector
from tests.support.settings import REPO

LFW_DIR = Path(os.environ.get("ROLLCALL_LFW_DIR", REPO.parent / "shared" / "lfw-devtrain"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory: nothing is read from or written to the developer's."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def small_dataset(faces_dir: Path, tmp_path: Path) -> Path:
    """A few real photos (linked, not copied), a photo without a face and a corrupt file."""
    root = tmp_path / "small"
    for identity, files in {"obama": ["obama.jpg", "obama2.jpg"], "biden": ["biden.jpg"]}.items():
        (root / identity).mkdir(parents=True)
        folder = "barack_obama" if identity == "obama" else "joe_biden"
        for file in files:
            (root / identity / file).symlink_to(faces_dir / "people" / folder / file)
    (root / "nobody").mkdir()
    Image.new("RGB", (200, 200), (120, 160, 200)).save(root / "nobody" / "wall.png")
    (root / "nobody" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    """MTCNN, for the liveness tests that pose LFW dev-train's people."""
    if not (LFW_DIR / "people").is_dir():
        pytest.fail(f"LFW dev-train is missing: {LFW_DIR} (set ROLLCALL_LFW_DIR)")
    return FaceDetector()
