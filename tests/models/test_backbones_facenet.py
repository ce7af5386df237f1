"""facenet backbones: a local weights file loads; offline without one, the error names the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from facenet_pytorch import InceptionResnetV1

from models.backbones.facenet import WEIGHTS_FILES, WeightsUnavailableError, load_facenet
from models.embedder import EmbedderConfig, FaceEmbedder


@pytest.fixture(scope="module")
def facenet_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights file laid out like facenet-pytorch's release (classifier head included).

    Its values are random: the real files are not downloadable here. The test is of the loading
    path (file layout, head stripping, normalisation), not of the weights' accuracy.
    """
    torch.manual_seed(0)
    network = InceptionResnetV1(classify=True, num_classes=8631)
    path = tmp_path_factory.mktemp("weights") / WEIGHTS_FILES["vggface2"]
    torch.save(network.state_dict(), path)
    return path


def test_local_weights_file_gives_unit_512d_embeddings(
    facenet_weights: Path, faces_dir: Path
) -> None:
    embedder = FaceEmbedder(
        EmbedderConfig(backbone="facenet-vggface2", weights_path=facenet_weights)
    )
    assert embedder.version.startswith("20180402-114759-vggface2+")
    [face] = embedder.faces(faces_dir / "people" / "rose_leslie" / "rose1.jpg")
    assert face.chip.shape == (160, 160, 3)
    assert face.embedding.shape == (512,)
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)


def test_offline_without_weights_names_the_file_to_provide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty torch cache, and every connection sent to a closed local port: a real failure of
    # facenet-pytorch's own download, as on a machine without internet.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(WeightsUnavailableError) as error:
        load_facenet("casia-webface")
    message = str(error.value)
    assert WEIGHTS_FILES["casia-webface"] in message
    assert "ROLLCALL_WEIGHTS_PATH" in message
    assert str(tmp_path / "torch" / "checkpoints") in message


def test_missing_local_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match="not found"):
        load_facenet("vggface2", tmp_path / "nope.pt")
