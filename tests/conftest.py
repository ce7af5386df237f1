"""Shared fixtures: the real photos, one loaded model per test run, apps on real SQLite files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from models.embedder import FaceEmbedder

REPO = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("ROLLCALL_FACES_DIR", REPO.parent / "shared" / "faces"))


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES_DIR / "people").is_dir():
        pytest.fail(f"The shared face photos are missing: {FACES_DIR} (set ROLLCALL_FACES_DIR)")
    return FACES_DIR


@pytest.fixture(scope="session")
def embedder() -> FaceEmbedder:
    """The default embedder (dlib-resnet), loaded once: loading weights is the slow part."""
    return FaceEmbedder()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        _env_file=None,  # tests never read a developer's .env
        database_url=f"sqlite:///{tmp_path / 'rollcall.db'}",
        **overrides,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings, embedder: FaceEmbedder) -> Iterator[TestClient]:
    """The real app on a fresh SQLite file, with the real model."""
    with TestClient(create_app(settings, embedder)) as test_client:
        yield test_client
