"""MTCNN's three stages (facenet-pytorch's `detect_face`, one image), with running sums of the
photo for every resize.

facenet-pytorch resizes the image pyramid and every candidate crop (tens per photo) with
`interpolate(mode="area")`, one adaptive average pool per crop: most of a check-in's time
(issue 15's profile: 75 of 250 ms). An area resize averages the input over integer windows
(from floor(i·in/out) to ceil((i+1)·in/out)), so every one of them is differences of running
sums of the photo, computed once: the same numbers (float64 sums), without a pool per crop.
The stages, thresholds and box arithmetic are facenet-pytorch's own, so the faces found are
theirs (tests/models/test_mtcnn.py compares both on the shared photos).
"""

from __future__ import annotations

import numpy as np
import torch
from facenet_pytorch.models.utils.detect_face import (
    batched_nms_numpy,
    bbreg,
    generateBoundingBox,
    pad,
    rerec,
)
from torch import nn
from torchvision.ops.boxes import batched_nms

from models.summed_area import SummedArea


def _run(net: nn.Module, batch: np.ndarray) -> list[torch.Tensor]:
    """The net on a batch normalised as MTCNN expects, on the net's own device (a GPU too);
    its outputs as float32 on the CPU, where the boxes are."""
    weight = next(net.parameters(), None)  # none: a net wrapping ONNX Runtime, on the CPU
    device = weight.device if weight is not None else torch.device("cpu")
    inputs = torch.from_numpy((batch - 127.5) * 0.0078125).to(device)
    return [out.float().cpu() for out in net(inputs)]


def detect_faces(
    pixels: np.ndarray,
    min_size: float,
    nets: tuple[nn.Module, nn.Module, nn.Module],
    thresholds: tuple[float, float, float],
    factor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 5) boxes with probability and (N, 5, 2) landmarks in a (H, W, 3) uint8 photo."""
    pnet, rnet, onet = nets
    area = SummedArea(pixels)
    h, w = area.height, area.width
    boxes = _proposals(area, min_size, pnet, thresholds[0], factor)
    empty = (np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32))
    if len(boxes) == 0:
        return empty

    # Second stage: R-Net on 24x24 crops of the proposals.
    crops = _crops(area, boxes, w, h, 24)
    regression, scores = _run(rnet, crops)
    score = scores[:, 1]
    keep = score > thresholds[1]
    boxes = torch.cat((boxes[keep, :4], score[keep].unsqueeze(1)), dim=1)
    regression = regression[keep]
    pick = batched_nms(boxes[:, :4], boxes[:, 4], torch.zeros(len(boxes)), 0.7)
    boxes = rerec(bbreg(boxes[pick], regression[pick]))
    if len(boxes) == 0:
        return empty

    # Third stage: O-Net on 48x48 crops: final boxes, probabilities and landmarks.
    crops = _crops(area, boxes, w, h, 48)
    regression, points, scores = _run(onet, crops)
    score = scores[:, 1]
    keep = score > thresholds[2]
    points = points[keep].permute(1, 0)
    boxes = torch.cat((boxes[keep, :4], score[keep].unsqueeze(1)), dim=1)
    regression = regression[keep]
    widths = boxes[:, 2] - boxes[:, 0] + 1
    heights = boxes[:, 3] - boxes[:, 1] + 1
    points_x = widths.repeat(5, 1) * points[:5, :] + boxes[:, 0].repeat(5, 1) - 1
    points_y = heights.repeat(5, 1) * points[5:10, :] + boxes[:, 1].repeat(5, 1) - 1
    landmarks = torch.stack((points_x, points_y)).permute(2, 1, 0)
    boxes = bbreg(boxes, regression)
    pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], torch.zeros(len(boxes)), 0.7, "Min")
    return boxes[pick].numpy(), landmarks[pick].numpy()


def _proposals(
    area: SummedArea, min_size: float, pnet: nn.Module, threshold: float, factor: float
) -> torch.Tensor:
    """First stage: P-Net over the image pyramid; candidate boxes, square, in photo pixels."""
    h, w = area.height, area.width
    scale = 12.0 / min_size
    shortest = min(h, w) * scale
    found, picked, offset = [], [], 0
    while shortest >= 12:
        level = area.resize(0, 0, h, w, (int(h * scale + 1), int(w * scale + 1)))
        regression, probabilities = _run(pnet, level[None])
        boxes, image_inds = generateBoundingBox(
            regression.float(), probabilities[:, 1].float(), scale, threshold
        )
        found.append(boxes)
        picked.append(batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.5) + offset)
        offset += boxes.shape[0]
        scale *= factor
        shortest *= factor
    if not found:
        return torch.zeros(0, 5)
    boxes = torch.cat(found)[torch.cat(picked)]
    boxes = boxes[batched_nms(boxes[:, :4], boxes[:, 4], torch.zeros(len(boxes)), 0.7)]
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    refined = torch.stack(
        [
            boxes[:, 0] + boxes[:, 5] * widths,
            boxes[:, 1] + boxes[:, 6] * heights,
            boxes[:, 2] + boxes[:, 7] * widths,
            boxes[:, 3] + boxes[:, 8] * heights,
            boxes[:, 4],
        ]
    ).permute(1, 0)
    return rerec(refined)


def _crops(area: SummedArea, boxes: torch.Tensor, w: int, h: int, size: int) -> np.ndarray:
    """(N, 3, size, size) area-resized crops of the boxes, clipped to the photo."""
    y, ey, x, ex = (np.asarray(v, np.int64) for v in pad(boxes, w, h))
    valid = (ey > y - 1) & (ex > x - 1)
    return area.crops(y[valid] - 1, x[valid] - 1, ey[valid], ex[valid], size)
