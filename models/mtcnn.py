"""MTCNN's three stages (facenet-pytorch's `detect_face`, one image), with running sums of the
photo for every resize.

facenet-pytorch resizes the image pyramid and every candidate crop (tens per photo) with
`interpolate(mode="area")`, one adaptive average pool per crop: most of a check-in's time
(issue 15's profile: 75 of 250 ms). An area resize averages the input over integer windows
(from floor(i·in/out) to ceil((i+1)·in/out)), so every one of them is differences of running
sums of the photo, computed once: the same numbers (float64 sums), without a pool per crop.
The stages, thresholds and box arithmetic are facenet-pytorch's own, so the faces found are
theirs (tests/test_mtcnn.py compares both on the shared photos).
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


class SummedArea:
    """The photo's running sums down its columns: area resizes of any window of it, each
    costing its output's rows times the window's width (no pass over the whole photo)."""

    def __init__(self, pixels: np.ndarray) -> None:
        height, width, channels = pixels.shape
        self.height, self.width = height, width
        self._down = np.zeros((height + 1, width, channels), np.float64)
        np.cumsum(pixels, axis=0, dtype=np.float64, out=self._down[1:])
        self._table: np.ndarray | None = None  # the 2-D summed-area table, made for crops

    def resize(
        self, top: int, left: int, bottom: int, right: int, size: tuple[int, int]
    ) -> np.ndarray:
        """Rows top..bottom-1, columns left..right-1 area-resized to (C, out_h, out_w) float32,
        as torch's `interpolate(mode="area")` computes it: rows averaged, then columns."""
        y0, y1 = _windows(bottom - top, size[0])
        x0, x1 = _windows(right - left, size[1])
        rows = self._down[y1 + top, left:right] - self._down[y0 + top, left:right]
        rows /= (y1 - y0)[:, None, None]
        across = np.zeros((size[0], right - left + 1, rows.shape[2]), np.float64)
        np.cumsum(rows, axis=1, out=across[:, 1:])
        averaged = (across[:, x1] - across[:, x0]) / (x1 - x0)[None, :, None]
        return averaged.astype(np.float32).transpose(2, 0, 1)

    def crops(
        self,
        tops: np.ndarray,
        lefts: np.ndarray,
        bottoms: np.ndarray,
        rights: np.ndarray,
        size: int,
    ) -> np.ndarray:
        """(N, C, size, size) float32: each window area-resized, all at once (four lookups
        per output pixel in the summed-area table)."""
        if self._table is None:
            self._table = np.zeros((self.height + 1, self.width + 1, self._down.shape[2]))
            np.cumsum(self._down, axis=1, out=self._table[:, 1:])
        i = np.arange(size)
        heights, widths = (bottoms - tops)[:, None], (rights - lefts)[:, None]
        y0, y1 = tops[:, None] + (i * heights) // size, tops[:, None] - (-(i + 1) * heights) // size
        x0, x1 = lefts[:, None] + (i * widths) // size, lefts[:, None] - (-(i + 1) * widths) // size
        t = self._table
        y0, y1, x0, x1 = y0[:, :, None], y1[:, :, None], x0[:, None, :], x1[:, None, :]
        sums = t[y1, x1] - t[y0, x1] - t[y1, x0] + t[y0, x0]
        areas = ((y1 - y0) * (x1 - x0))[..., None]
        return (sums / areas).astype(np.float32).transpose(0, 3, 1, 2)


def _windows(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pooling's windows: [floor(i·in/out), ceil((i+1)·in/out)) for each output i."""
    i = np.arange(size_out)
    return (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)


def _normalized(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy((batch - 127.5) * 0.0078125)


def detect_faces(
    pixels: np.ndarray,
    min_size: int,
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
    regression, scores = (out.float() for out in rnet(_normalized(crops)))
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
    regression, points, scores = (out.float() for out in onet(_normalized(crops)))
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
    area: SummedArea, min_size: int, pnet: nn.Module, threshold: float, factor: float
) -> torch.Tensor:
    """First stage: P-Net over the image pyramid; candidate boxes, square, in photo pixels."""
    h, w = area.height, area.width
    scale = 12.0 / min_size
    shortest = min(h, w) * scale
    found, picked, offset = [], [], 0
    while shortest >= 12:
        level = area.resize(0, 0, h, w, (int(h * scale + 1), int(w * scale + 1)))
        regression, probabilities = pnet(_normalized(level[None]))
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
