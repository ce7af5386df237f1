"""The torch-free serving path (ONNX Runtime from exported files, numpy glue) finds the same
faces and the same embeddings as the torch pipeline, from the same weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.embedder import EmbedderConfig, FaceEmbedder
from models.image import load_image
from models.onnx_files import MANIFEST
from models.serving import ServingEmbedder

PHOTOS = [
    "people/barack_obama/obama.jpg",
    "people/kit_harington/kit1.jpg",
    "group/multiface.jpg",  # six faces
    "group/obama_and_biden.jpg",  # large: downscaled before detection
    "group/kit_with_rose.jpg",
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def serving(onnx_dir: Path) -> ServingEmbedder:
    return ServingEmbedder(EmbedderConfig(), onnx_dir)


@pytest.mark.slow  # the module's first test exports the model to ONNX
@pytest.mark.parametrize("photo", PHOTOS)
def test_serving_finds_the_faces_torch_finds(
    embedder: FaceEmbedder, serving: ServingEmbedder, faces_dir: Path, photo: str
) -> None:
    image = load_image((faces_dir / photo).read_bytes())
    expected, got = embedder.faces(image), serving.faces(image)
    assert len(got) == len(expected) >= 1
    for a, b in zip(expected, got, strict=True):
        assert np.abs(a.box - b.box).max() < 0.5
        assert np.abs(a.landmarks - b.landmarks).max() < 0.5
        assert abs(a.probability - b.probability) < 1e-4
        assert np.abs(a.embedding - b.embedding).max() < 1e-5


@pytest.mark.slow  # the ONNX export, as above
def test_serving_embeds_chips_as_torch_does(
    embedder: FaceEmbedder, serving: ServingEmbedder, faces_dir: Path
) -> None:
    chips = np.stack([face.chip for face in embedder.faces(faces_dir / "group/multiface.jpg")])
    assert np.abs(embedder.embed_chips(chips) - serving.embed_chips(chips)).max() < 1e-5
    assert serving.embed_chips(chips[:0]).shape == (0, 128)
    assert serving.version == embedder.version  # templates stay comparable


@pytest.mark.slow
def test_flip_tta_and_a_weights_file_keep_their_versions(
    embedder: FaceEmbedder, onnx_dir: Path, tmp_path: Path, faces_dir: Path
) -> None:
    weights = tmp_path / "dlib.pt"
    torch.save(embedder.network.backbone.state_dict(), weights)
    config = EmbedderConfig(weights_path=weights, flip_tta=True)
    plain, fast = FaceEmbedder(config), ServingEmbedder(config, onnx_dir)
    assert (fast.version, fast.former_versions) == (plain.version, plain.former_versions)
    chips = np.stack([face.chip for face in embedder.faces(faces_dir / "group/multiface.jpg")])
    assert np.abs(plain.embed_chips(chips) - fast.embed_chips(chips)).max() < 1e-5


@pytest.mark.slow
def test_a_lost_file_is_exported_again(serving: ServingEmbedder, onnx_dir: Path) -> None:
    export = serving.files.directory
    (export / "rnet.onnx").unlink()
    again = ServingEmbedder(EmbedderConfig(), onnx_dir)
    assert (export / "rnet.onnx").is_file()
    assert json.loads((export / MANIFEST).read_text())["version"] == again.version
    assert not [path for path in onnx_dir.iterdir() if path.name.startswith(".")]  # no staging


@pytest.mark.subprocess
def test_serving_never_imports_torch(
    serving: ServingEmbedder, onnx_dir: Path, faces_dir: Path
) -> None:
    photo = faces_dir / PHOTOS[0]
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from models.embedder import EmbedderConfig\n"
        "from models.serving import ServingEmbedder\n"
        f"embedder = ServingEmbedder(EmbedderConfig(), Path({str(onnx_dir)!r}))\n"
        f"faces = embedder.faces({str(photo)!r})\n"
        "assert len(faces) == 1\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'torchvision', 'facenet_pytorch')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_broken_weights_file_names_the_failure(onnx_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not weights")
    with pytest.raises(RuntimeError, match="exporting the networks to ONNX failed"):
        ServingEmbedder(EmbedderConfig(weights_path=broken), onnx_dir)
    assert not [path for path in onnx_dir.iterdir() if path.name.startswith(".")]
