"""Face detection with facenet-pytorch's MTCNN (its weights ship inside the package).

`FaceDetector` finds every face with its box, probability and 5 landmarks (left eye, right eye,
nose, left and right mouth corner). Large photos are searched as if downscaled (MTCNN's image
pyramid starts small), which costs nothing in accuracy for faces big enough to recognise and
saves most of MTCNN's time; boxes and landmarks are in the full photo's pixels, so alignment
samples the original pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from models import mtcnn
from models.image import Photo
from models.onnx_files import OnnxNetwork, ServingFiles

if TYPE_CHECKING:
    import torch

# MTCNN's image pyramid: each level 0.709 the size of the last (facenet-pytorch's default).
PYRAMID_FACTOR = 0.709

# (H, W, 3) uint8 photo, smallest face in pixels -> (N, 5) boxes with probability, (N, 5, 2)
# landmarks.
FindFaces = Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DetectedFace:
    """One face in full-photo pixel coordinates."""

    box: np.ndarray  # (4,) x1, y1, x2, y2
    probability: float
    landmarks: np.ndarray  # (5, 2) x, y in MTCNN's order

    @property
    def size(self) -> float:
        """The shorter side of the box, in pixels."""
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


@dataclass(frozen=True)
class DetectorConfig:
    min_probability: float = 0.95  # faint false faces score near 0.8; real ones above 0.99
    min_face_size: int = 40  # pixels of the full photo; smaller faces carry too little detail
    # MTCNN's pyramid starts as for the photo downscaled to this longer side (see
    # FaceDetector.detect): faces of min_face_size stay findable, large photos cost no more.
    max_side: int = 800
    stage_thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)  # MTCNN's P/R/O-net


class FaceDetector:
    """MTCNN detection of every face in a photo, with size and probability floors."""

    def __init__(
        self,
        config: DetectorConfig | None = None,
        device: str = "cpu",
        *,
        onnx_files: ServingFiles | None = None,
        threads: int = 1,
    ) -> None:
        """MTCNN's networks on torch (on `device`), or with `onnx_files` on ONNX Runtime from
        those files (`threads` each): then torch is never imported."""
        self.config = config or DetectorConfig()
        if onnx_files is not None:
            self._find = _onnx_mtcnn(onnx_files, self.config, threads)
        else:
            self._find = _torch_mtcnn(self.config, device)

    def detect(self, photo: Photo) -> list[DetectedFace]:
        """Every face above the floors, most probable first."""
        longest = max(photo.width, photo.height)
        # MTCNN's image pyramid starts as if the photo were downscaled to max_side. Its levels
        # are area resizes of whatever image it gets, so up to twice max_side that downscale
        # is folded into them (a bilinear resize first cost 6 ms of a 480p check-in's 60).
        # A larger photo is still resized first, so the pyramid and the crops of the later
        # stages never work on more than a downscaled photo's pixels.
        scale = min(1.0, self.config.max_side / longest)
        pixels, resized = photo.pixels, 1.0
        if longest > 2 * self.config.max_side:
            size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
            image = Image.fromarray(pixels).resize(
                size, Image.Resampling.BILINEAR, reducing_gap=2.0
            )
            pixels, resized = np.asarray(image), scale
        # MTCNN's floor: the smallest face we keep, as it would be at max_side and no less
        # than P-Net's 12 pixels, in `pixels`' own. It is passed per call (not set on the
        # shared module) so concurrent requests never see each other's setting.
        min_size = max(12, int(self.config.min_face_size * scale)) * resized / scale
        if min(pixels.shape[:2]) < min_size:  # too small to hold any face we would keep
            return []
        found, points = self._find(pixels, min_size)
        if len(found) == 0:
            return []
        boxes = found[:, :4] / resized
        probs = found[:, 4]
        points = points / resized
        faces = [
            DetectedFace(box=box, probability=float(prob), landmarks=marks)
            for box, prob, marks in zip(boxes, probs, points, strict=True)
        ]
        kept = [
            face
            for face in faces
            if face.probability >= self.config.min_probability
            and face.size >= self.config.min_face_size
        ]
        return sorted(kept, key=lambda face: face.probability, reverse=True)


def _onnx_mtcnn(files: ServingFiles, config: DetectorConfig, threads: int) -> FindFaces:
    names = ("pnet", "rnet", "onet")
    pnet, rnet, onet = (OnnxNetwork(files.network(name), threads) for name in names)
    return _finder((pnet, rnet, onet), config)


def _torch_mtcnn(config: DetectorConfig, device: str) -> FindFaces:
    # Imported here: the service detects with `_onnx_mtcnn` and never imports torch.
    from facenet_pytorch import MTCNN

    facenet = MTCNN(keep_all=True, device=device, factor=PYRAMID_FACTOR, post_process=False)
    nets = (torch_network(facenet.pnet), torch_network(facenet.rnet), torch_network(facenet.onet))
    return _finder(nets, config)


def _finder(
    nets: tuple[mtcnn.Network, mtcnn.Network, mtcnn.Network], config: DetectorConfig
) -> FindFaces:
    def find(pixels: np.ndarray, min_size: float) -> tuple[np.ndarray, np.ndarray]:
        thresholds = config.stage_thresholds
        return mtcnn.detect_faces(pixels, min_size, nets, thresholds, PYRAMID_FACTOR)

    return find


def torch_network(net: torch.nn.Module) -> mtcnn.Network:
    """A torch net as MTCNN's numpy stages call it: fed on its own device (a GPU too), its
    outputs back as float32 numpy on the CPU, where the boxes are."""
    import torch

    device = next(net.parameters()).device

    def run(batch: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            outputs = net(torch.from_numpy(batch).to(device))
        return [output.float().cpu().numpy() for output in outputs]

    return run
