"""ROLLCALL_BACKBONE=dlib+faceres through the service, on the shared photos: faceres installed by
its command into a fresh cache, the service started on it (ONNX Runtime, as a CPU serves), and
its answers held to the two backbones' own embeddings of the same photos (torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.core.config import ConfigurationError
from app.core.tables import EMBEDDING_DTYPE, FaceTemplate
from app.main import create_app
from models.backbones import get_backbone
from models.burst import fuse
from models.embedder import EmbedderConfig, FaceEmbedder
from models.identification import SHIPPED_RETRY_BANDS, shipped_retry_bands
from tests.support.helpers import enroll_five, install_faceres
from tests.support.settings import ADMIN_KEY, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
CHECKIN = "/api/v1/checkins"
FUSION = get_backbone("dlib+faceres")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh cache with faceres installed by `rollcall models install faceres`."""
    cache = tmp_path_factory.mktemp("cache")
    install_faceres(cache)
    return cache


def own_embeddings(backbone: str, photos: list[Path]) -> np.ndarray:
    """One backbone's own embedding (torch) of each photo's one face, as a fusion's part makes it
    (never mirror-averaged: models/fusion.py)."""
    embedder = FaceEmbedder(EmbedderConfig(backbone=backbone, device="cpu", flip_tta=False))
    out = []
    for photo in photos:
        [face] = embedder.faces(photo)
        out.append(face.embedding)
    return np.stack(out)


def test_dlib_faceres_enrolls_and_checks_in_with_the_fused_distance(
    tmp_path: Path, cache: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLCALL_CACHE_DIR", str(cache))  # the service sets it; undone after
    settings = make_settings(tmp_path, backbone="dlib+faceres", cache_dir=cache, device="cpu")
    obama = faces_dir / "people" / "barack_obama"
    alex = faces_dir / "people" / "alex_lacamoire"
    with TestClient(create_app(settings), headers={"X-API-Key": ADMIN_KEY}) as client:
        health = client.get("/health").json()
        assert health["backbone"] == "dlib+faceres"
        version = health["weights_version"]
        assert "dlib_face_recognition_resnet_model_v1" in version
        assert "hse-faceres-human-models-3.0.4" in version
        # Neither band set: the fusion's own, not dlib-resnet's.
        bands = client.app.state.context.recognizer.retry_bands
        assert bands == shipped_retry_bands("dlib+faceres", False) != SHIPPED_RETRY_BANDS
        ids = enroll_five(client, faces_dir)  # obama.jpg among them
        with client.app.state.context.db.read_session() as session:  # the templates stored
            rows = session.query(FaceTemplate).all()
            assert {row.weights_version for row in rows} == {version}
            stored = {row.student_id: np.frombuffer(row.embedding, EMBEDDING_DTYPE) for row in rows}
        assert {len(e) for e in stored.values()} == {128 + 1024}

        single = client.post(
            CHECKIN, files={"file": ("o.jpg", (obama / "obama2.jpg").read_bytes())}
        )
        assert single.status_code == 200, single.text
        [face] = single.json()["faces"]
        assert face["decision"] == "present" and face["student"]["id"] == ids["barack_obama"]

        # Two frames whose faces lie where a burst groups them (tests/app/services/test_burst.py)
        frames = [("file", (n, (alex / n).read_bytes())) for n in ("alex3.jpg", "alex2.jpg")]
        burst = client.post(CHECKIN, files=frames)
        assert burst.status_code == 200, burst.text
        [fused_face] = burst.json()["faces"]
        assert fused_face["frames"] == 2 and fused_face["decision"] == "present"
        assert fused_face["student"]["id"] == ids["alex_lacamoire"]

    # The two backbones' own embeddings of the same photos: enrolled, then checked in.
    photos = [obama / "obama.jpg", obama / "obama2.jpg", alex / "alex1.png", alex / "alex3.jpg"]
    photos.append(alex / "alex2.jpg")
    dlib, faceres = own_embeddings("dlib-resnet", photos), own_embeddings("faceres", photos)
    (_, w_dlib), (_, w_faceres) = FUSION.parts
    template = stored[ids["barack_obama"]]
    assert np.allclose(template[:128], np.sqrt(w_dlib) * dlib[0], atol=1e-4)
    assert np.allclose(template[128:], np.sqrt(w_faceres) * faceres[0], atol=1e-4)

    def fused_distance(dlib_probe: np.ndarray, faceres_probe: np.ndarray, enrolled: int) -> float:
        d_dlib = np.linalg.norm(dlib_probe - dlib[enrolled])
        d_faceres = np.linalg.norm(faceres_probe - faceres[enrolled])
        return float(np.sqrt(w_dlib * d_dlib**2 + w_faceres * d_faceres**2))

    assert face["distance"] == pytest.approx(fused_distance(dlib[1], faceres[1], 0), abs=2e-4)
    # A burst fuses each network's part on its own, at that part's frames' own mean length.
    per_part = fused_distance(fuse(dlib[3:], False), fuse(faceres[3:], False), 2)
    assert fused_face["distance"] == pytest.approx(per_part, abs=2e-4)
    whole = fuse(
        np.concatenate([np.sqrt(w_dlib) * dlib[3:], np.sqrt(w_faceres) * faceres[3:]], 1), False
    )
    enrolled = stored[ids["alex_lacamoire"]]
    assert abs(float(np.linalg.norm(whole - enrolled)) - per_part) > 1e-3  # tells them apart


def test_dlib_faceres_without_faceres_installed_refuses_to_start_naming_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    monkeypatch.setenv("ROLLCALL_CACHE_DIR", str(empty))
    settings = make_settings(tmp_path, backbone="dlib+faceres", cache_dir=empty, device="cpu")
    app = create_app(settings)
    with pytest.raises(ConfigurationError) as refused, TestClient(app):
        pass
    message = str(refused.value)
    assert "ROLLCALL_BACKBONE=dlib+faceres" in message
    assert "faceres, which is not installed" in message
    assert "rollcall models install faceres" in message
    assert not (empty / "onnx").exists()  # refused before exporting anything
