"""Rollcall's MTCNN stages (running sums for every resize) find facenet-pytorch's faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from facenet_pytorch import MTCNN
from facenet_pytorch.models.utils.detect_face import batched_nms_numpy, detect_face
from PIL import Image
from torchvision.ops import nms as torchvision_nms

from models.detection import DetectorConfig, torch_network
from models.image import load_image
from models.mtcnn import _crops, detect_faces, nms, nms_min
from models.summed_area import SummedArea


def test_area_resize_equals_torch_area_interpolation() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(97, 131, 3)).astype(np.uint8)
    area = SummedArea(pixels)
    full = torch.from_numpy(pixels).permute(2, 0, 1)[None].float()
    for top, left, bottom, right, size in [
        (0, 0, 97, 131, (30, 41)),  # a pyramid level: shrink by a non-integer factor
        (10, 20, 60, 55, (24, 24)),  # a crop, shrunk
        (5, 7, 21, 19, (48, 48)),  # a crop, enlarged (windows of one pixel, repeated)
    ]:
        window = full[:, :, top:bottom, left:right]
        expected = torch.nn.functional.interpolate(window, size=size, mode="area")[0].numpy()
        assert np.abs(area.resize(top, left, bottom, right, size) - expected).max() < 1e-3


def _photos(faces_dir: Path) -> list[Path]:
    return sorted((faces_dir / "people").rglob("*.*")) + sorted((faces_dir / "group").glob("*.*"))


@pytest.mark.slow
def test_the_stages_find_facenet_pytorchs_faces(faces_dir: Path) -> None:
    mtcnn = MTCNN(keep_all=True, post_process=False)
    floor = DetectorConfig().min_probability
    nets = (mtcnn.pnet, mtcnn.rnet, mtcnn.onet)
    networks = tuple(torch_network(net) for net in nets)
    compared = 0
    for path in _photos(faces_dir):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        image = Image.fromarray(load_image(path.read_bytes()).pixels)
        image.thumbnail((800, 800))  # the detector's own downscale, roughly
        with torch.inference_mode():
            [expected], [expected_points] = detect_face(
                image, 40, *nets, mtcnn.thresholds, mtcnn.factor, "cpu"
            )
        boxes, points = detect_faces(np.asarray(image), 40, networks, (0.6, 0.7, 0.7), mtcnn.factor)
        expected = np.asarray(expected, np.float32).reshape(-1, 5)
        expected_points = np.asarray(expected_points, np.float32).reshape(-1, 5, 2)
        confident = expected[:, 4] >= floor
        ours = boxes[:, 4] >= floor
        assert confident.sum() == ours.sum(), path.name
        order = np.argsort(-expected[confident, 4])
        mine = np.argsort(-boxes[ours, 4])
        assert np.abs(boxes[ours][mine, :4] - expected[confident][order, :4]).max() < 0.5, path
        assert np.abs(points[ours][mine] - expected_points[confident][order]).max() < 0.5, path
        assert np.abs(boxes[ours][mine, 4] - expected[confident][order, 4]).max() < 1e-3, path
        compared += int(ours.sum())
    assert compared >= 25  # every face of the shared photos, groups included


def test_batched_crops_equal_one_by_one_resizes() -> None:
    rng = np.random.default_rng(4)
    area = SummedArea(rng.integers(0, 256, size=(80, 90, 3)).astype(np.uint8))
    tops, lefts = np.array([0, 10, 33]), np.array([0, 5, 70])
    bottoms, rights = np.array([80, 30, 40]), np.array([90, 60, 90])
    batched = area.crops(tops, lefts, bottoms, rights, 24)
    for k in range(3):
        single = area.resize(tops[k], lefts[k], bottoms[k], rights[k], (24, 24))
        assert np.abs(batched[k] - single).max() < 1e-4


def test_suppressions_keep_torchvisions_and_facenet_pytorchs_boxes() -> None:
    """More boxes than one block of overlaps, crowded so that most suppress others."""
    rng = np.random.default_rng(5)
    corners = rng.uniform(0, 300, size=(700, 2)).astype(np.float32)
    sides = rng.uniform(10, 80, size=(700, 1)).astype(np.float32)
    boxes = np.concatenate([corners, corners + sides], axis=1)
    scores = rng.uniform(0.5, 1, size=700).astype(np.float32)
    for threshold in (0.3, 0.5, 0.7):
        expected = torchvision_nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold)
        assert np.array_equal(nms(boxes, scores, threshold), expected.numpy())
        expected = batched_nms_numpy(
            torch.from_numpy(boxes), torch.from_numpy(scores), torch.zeros(700), threshold, "Min"
        )
        assert np.array_equal(nms_min(boxes, scores, threshold), np.asarray(expected))


def test_a_box_wholly_outside_the_photo_has_no_crop_and_goes() -> None:
    """The nets' outputs must stay aligned with the boxes: a box with no crop is dropped
    before the net runs, not after (it shifted every later box's scores)."""
    area = SummedArea(np.zeros((50, 60, 3), np.uint8))
    boxes = np.array(
        [[10, 10, 30, 30, 1], [-40, 5, -20, 25, 1], [55, 45, 80, 70, 1], [70, 5, 90, 25, 1]],
        np.float32,
    )
    crops, inside = _crops(area, boxes, 24)
    assert inside.tolist() == [True, False, True, False]
    assert crops.shape == (2, 3, 24, 24)
