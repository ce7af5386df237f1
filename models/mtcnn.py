"""MTCNN's three stages (facenet-pytorch's `detect_face`, one image) in numpy, for networks on
any runtime: ONNX Runtime in the service (no torch), torch where training, evaluation and the
export run (models/detection.py wraps both as `Network`s).

facenet-pytorch resizes the image pyramid and every candidate crop (tens per photo) with
`interpolate(mode="area")`, one adaptive average pool per crop; here every resize is lookups in
the photo's summed-area table (models/summed_area.py): the same numbers. The stages,
thresholds and box arithmetic are facenet-pytorch's, written in float32 numpy; the non-maximum
suppressions are torchvision's (IoU, no +1) and facenet-pytorch's last "Min" one (with +1).
tests/models/test_mtcnn.py holds the faces found to facenet-pytorch's on the shared photos, and
tests/models/test_serving.py the ONNX Runtime path's to the torch path's within 0.5 px.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.summed_area import SummedArea

# A network: one normalised float32 (N, 3, H, W) batch in, its float32 outputs in order.
Network = Callable[[np.ndarray], list[np.ndarray]]

_EMPTY = (np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32))
_SUPPRESS_BLOCK = 256  # boxes whose overlaps with the rest are measured at once: 256 x N figures


def detect_faces(
    pixels: np.ndarray,
    min_size: float,
    nets: tuple[Network, Network, Network],
    thresholds: tuple[float, float, float],
    factor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 5) boxes with probability and (N, 5, 2) landmarks in a (H, W, 3) uint8 photo."""
    pnet, rnet, onet = nets
    area = SummedArea(pixels)
    boxes = _proposals(area, min_size, pnet, thresholds[0], factor)
    if len(boxes) == 0:
        return _EMPTY

    # Second stage: R-Net on 24x24 crops of the proposals (a box wholly outside the photo
    # has no crop: it goes, so that the net's outputs stay aligned with the boxes).
    crops, inside = _crops(area, boxes, 24)
    boxes = boxes[inside]
    if len(boxes) == 0:
        return _EMPTY
    regression, scores = rnet(_normalized(crops))[:2]
    keep = scores[:, 1] > thresholds[1]
    boxes = np.concatenate((boxes[keep, :4], scores[keep, 1:2]), axis=1)
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes = rerec(bbreg(boxes[pick], regression[keep][pick]))
    if len(boxes) == 0:
        return _EMPTY

    # Third stage: O-Net on 48x48 crops: final boxes, probabilities and landmarks.
    crops, inside = _crops(area, boxes, 48)
    boxes = boxes[inside]
    if len(boxes) == 0:
        return _EMPTY
    regression, points, scores = onet(_normalized(crops))[:3]
    keep = scores[:, 1] > thresholds[2]
    boxes = np.concatenate((boxes[keep, :4], scores[keep, 1:2]), axis=1)
    points, regression = points[keep], regression[keep]
    widths = boxes[:, 2:3] - boxes[:, 0:1] + 1
    heights = boxes[:, 3:4] - boxes[:, 1:2] + 1
    points_x = widths * points[:, :5] + boxes[:, 0:1] - 1
    points_y = heights * points[:, 5:10] + boxes[:, 1:2] - 1
    landmarks = np.stack((points_x, points_y), axis=2)
    boxes = bbreg(boxes, regression)
    pick = nms_min(boxes[:, :4], boxes[:, 4], 0.7)
    return boxes[pick], landmarks[pick]


def _proposals(
    area: SummedArea, min_size: float, pnet: Network, threshold: float, factor: float
) -> np.ndarray:
    """First stage: P-Net over the image pyramid; candidate boxes, square, in photo pixels."""
    h, w = area.height, area.width
    scale = 12.0 / min_size
    shortest = min(h, w) * scale
    found = []
    while shortest >= 12:
        level = area.resize(0, 0, h, w, (int(h * scale + 1), int(w * scale + 1)))
        regression, probabilities = pnet(_normalized(level[None]))[:2]
        boxes = _grid_boxes(regression[0], probabilities[0, 1], scale, threshold)
        found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        scale *= factor
        shortest *= factor
    if not found:
        return np.zeros((0, 5), np.float32)
    boxes = np.concatenate(found)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    refined = np.stack(
        [
            boxes[:, 0] + boxes[:, 5] * widths,
            boxes[:, 1] + boxes[:, 6] * heights,
            boxes[:, 2] + boxes[:, 7] * widths,
            boxes[:, 3] + boxes[:, 8] * heights,
            boxes[:, 4],
        ],
        axis=1,
    )
    return rerec(refined)


def _grid_boxes(
    regression: np.ndarray, probability: np.ndarray, scale: float, threshold: float
) -> np.ndarray:
    """facenet-pytorch's generateBoundingBox for one image: (K, 9) boxes, score, regression
    for each P-Net cell (stride 2, 12 px) whose face probability reaches the threshold."""
    ys, xs = np.nonzero(probability >= threshold)
    cells = np.stack((xs, ys), axis=1).astype(np.float32)
    scale32 = np.float32(scale)
    top_left = np.floor((2 * cells + 1) / scale32)
    bottom_right = np.floor((2 * cells + 12) / scale32)
    score = probability[ys, xs][:, None]
    offsets = regression[:, ys, xs].T
    return np.concatenate((top_left, bottom_right, score, offsets), axis=1).astype(np.float32)


def _normalized(batch: np.ndarray) -> np.ndarray:
    return (batch - np.float32(127.5)) * np.float32(0.0078125)


def _crops(area: SummedArea, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(M, 3, size, size) area-resized crops of the boxes that reach into the photo, clipped
    to it (facenet's pad), and which boxes those are: the others have no crop."""
    corners = np.trunc(boxes[:, :4]).astype(np.int32).astype(np.int64)
    x, y = np.maximum(corners[:, 0], 1), np.maximum(corners[:, 1], 1)
    ex, ey = np.minimum(corners[:, 2], area.width), np.minimum(corners[:, 3], area.height)
    inside = (ey > y - 1) & (ex > x - 1)
    crops = area.crops(y[inside] - 1, x[inside] - 1, ey[inside], ex[inside], size)
    return crops, inside


def bbreg(boxes: np.ndarray, regression: np.ndarray) -> np.ndarray:
    """Boxes moved by the network's regression, in fractions of their (+1) width and height."""
    boxes = boxes.copy()
    widths = boxes[:, 2] - boxes[:, 0] + 1
    heights = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, :4] = boxes[:, :4] + regression[:, :4] * np.stack(
        (widths, heights, widths, heights), axis=1
    )
    return boxes


def rerec(boxes: np.ndarray) -> np.ndarray:
    """Boxes made square about their centres, on their longer side."""
    boxes = boxes.copy()
    heights = boxes[:, 3] - boxes[:, 1]
    widths = boxes[:, 2] - boxes[:, 0]
    sides = np.maximum(widths, heights)
    boxes[:, 0] = boxes[:, 0] + widths * 0.5 - sides * 0.5
    boxes[:, 1] = boxes[:, 1] + heights * 0.5 - sides * 0.5
    boxes[:, 2:4] = boxes[:, :2] + sides[:, None]
    return boxes


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision's `nms`: indices kept, best first; a box goes when its IoU with a kept one
    exceeds the threshold (areas without +1)."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return _suppress(boxes, np.argsort(-scores, kind="stable"), threshold, areas, 0, union=True)


def nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """facenet-pytorch's `nms_numpy` with "Min": overlap over the smaller box (+1 areas);
    a box goes when it exceeds the threshold."""
    areas = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    order = np.argsort(scores, kind="stable")[::-1]
    return _suppress(boxes, order, threshold, areas, 1, union=False)


def _suppress(
    boxes: np.ndarray,
    order: np.ndarray,
    threshold: float,
    areas: np.ndarray,
    plus: int,
    union: bool,
) -> np.ndarray:
    """Greedy suppression in `order`: each box not yet suppressed is kept and suppresses every
    later box whose overlap with it exceeds the threshold. Overlaps are measured for a block
    of boxes still standing against the later ones still standing, at once (a few numpy calls
    per block, not per kept box: the group photo's 279 R-Net candidates took 6 ms one box at
    a time), so crowded boxes that fall early cost nothing later."""
    boxes, areas = boxes[order], areas[order]
    suppressed = np.zeros(len(order), bool)
    kept = []
    for start in range(0, len(order), _SUPPRESS_BLOCK):
        standing = np.flatnonzero(~suppressed[start:]) + start
        block = standing[standing < start + _SUPPRESS_BLOCK]
        if len(block) == 0:
            continue
        exceeds = (
            _overlaps(boxes[block], areas[block], boxes[standing], areas[standing], plus, union)
            > threshold
        )
        for row, index in enumerate(block):
            if not suppressed[index]:
                kept.append(index)
                suppressed[standing[exceeds[row]]] = True  # itself too: already kept
    return order[np.asarray(kept, np.int64)]


def _overlaps(
    some: np.ndarray,
    some_areas: np.ndarray,
    boxes: np.ndarray,
    areas: np.ndarray,
    plus: int,
    union: bool,
) -> np.ndarray:
    """(len(some), len(boxes)) overlaps: intersection over union, or over the smaller box."""
    widths = np.minimum(some[:, None, 2], boxes[None, :, 2]) - np.maximum(
        some[:, None, 0], boxes[None, :, 0]
    )
    heights = np.minimum(some[:, None, 3], boxes[None, :, 3]) - np.maximum(
        some[:, None, 1], boxes[None, :, 1]
    )
    overlap = np.maximum(widths + plus, 0) * np.maximum(heights + plus, 0)
    if union:
        return overlap / (some_areas[:, None] + areas[None, :] - overlap)
    return overlap / np.minimum(some_areas[:, None], areas[None, :])
