"""`FaceEmbedder`: photo in, faces out, each with box, landmarks, quality and embedding.

This is the one entry point the rest of Rollcall uses. It is built once (loading weights is the
slow part) and is safe to call from several threads: inference holds no per-call state.
The service uses its torch-free twin, `models.serving.ServingEmbedder` (the same pipeline on
ONNX Runtime from exported files); this module imports torch only where FaceEmbedder runs it,
as the service imports `Face` from here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from models.alignment import DlibChipCutter, align_face, crop_box
from models.backbones import BackboneSpec, calibrated, get_backbone, mirrors
from models.detection import DetectedFace, DetectorConfig, FaceDetector
from models.files import file_sha256
from models.image import Photo, load_image
from models.quality import FaceQuality, assess
from models.timing import StageTimer

if TYPE_CHECKING:
    from torch import nn

EMBED_BATCH = 32


class FaceJson(TypedDict):
    """A face as `rollcall embed --json` prints it."""

    box: list[float]
    probability: float
    landmarks: list[list[float]]
    quality: float
    embedding: list[float]


@dataclass(frozen=True)
class EmbedderConfig:
    backbone: str = "dlib-resnet"
    weights_path: Path | None = None  # None: the backbone's pretrained weights
    device: str | None = None  # None: CUDA when present, else CPU
    # Mirror averaging (models.backbones.MirroredCalibration); None: the backbone's default
    # (models.backbones.mirrors). `mirrored` says which it is.
    flip_tta: bool | None = None
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    @property
    def mirrored(self) -> bool:
        """Whether faces are embedded with their mirror image too, the two averaged."""
        return mirrors(self.backbone, self.flip_tta)


@dataclass(frozen=True)
class AlignedFace:
    """A face found and cut out, not yet embedded: enough to decide whether to embed it."""

    box: np.ndarray  # (4,) x1, y1, x2, y2 in photo pixels
    probability: float
    landmarks: np.ndarray  # (5, 2)
    quality: FaceQuality
    chip: np.ndarray  # the aligned (S, S, 3) uint8 chip


@dataclass(frozen=True)
class Face(AlignedFace):
    """A face found, cut out and embedded (from its chip)."""

    embedding: np.ndarray  # (D,) float32

    def to_json(self) -> FaceJson:
        return {
            "box": [round(float(v), 1) for v in self.box],
            "probability": round(self.probability, 4),
            "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks],
            "quality": self.quality.score,
            "embedding": [round(float(v), 6) for v in self.embedding],
        }


def weights_digest(module: nn.Module) -> str:
    """A digest of a network's weight values (names, shapes, dtypes and numbers).

    Of the values, not of a file's bytes: the same weights saved again, or saved by another
    tool, give the same digest.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)};".encode())
        digest.update(value.numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


_pretrained_digests: dict[str, str | None] = {}  # by the pretrained weights' version


def pretrained_digest(spec: BackboneSpec) -> str | None:
    """The digest of a backbone's pretrained weights; None when they would need a download."""
    if spec.version not in _pretrained_digests:
        local = spec.pretrained_is_local()
        _pretrained_digests[spec.version] = weights_digest(spec.load(None)) if local else None
    return _pretrained_digests[spec.version]


def weights_version(spec: BackboneSpec, module: nn.Module, from_file: bool, flip_tta: bool) -> str:
    """Names what made an embedding: embeddings of different versions are never compared.

    The pretrained weights are the backbone's version; other weight values add a digest of
    the values (a file holding the pretrained values is the pretrained version). Mirror
    averaging (flip TTA) makes other embeddings of the same weights, so it is part of it too.
    """
    version = spec.version
    if from_file:
        digest = weights_digest(module)
        if digest != pretrained_digest(spec):
            version = f"{version}+{digest[:12]}"
    return f"{version}+flip" if flip_tta else version


def file_digest_version(spec: BackboneSpec, weights_path: Path) -> str:
    """What a weights file's embeddings were named before versions came from the weight values
    (a digest of the file's bytes): templates of that name are this file's."""
    return f"{spec.version}+{file_sha256(weights_path)[:12]}"


_DIFFERENCES_AT_ONCE = 8_000_000  # floats of (Q, G, D) differences held at once: 32 MB


class FacePipeline:
    """Detect, align, embed: what both embedders share. A subclass sets `spec`, `version`,
    `former_versions`, `mirrored` and `detector`, and embeds chips."""

    spec: BackboneSpec
    version: str
    former_versions: list[str]
    mirrored: bool  # each chip's embedding averaged with its mirror image's
    detector: FaceDetector

    def __init__(self, spec: BackboneSpec) -> None:
        self.spec = spec
        dlib_chips = spec.template is None and spec.box_margin is None
        self._dlib_chips = DlibChipCutter(spec.chip_size) if dlib_chips else None

    def embed_chips(self, chips: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """(N, S, S, 3) uint8 chips -> (N, D) float32 embeddings."""
        raise NotImplementedError

    def detect(self, photo: Photo, timer: StageTimer | None = None) -> list[DetectedFace]:
        timer = timer or StageTimer()
        with timer.stage("detect"):
            return self.detector.detect(photo)

    def align(self, photo: Photo, face: DetectedFace) -> np.ndarray:
        if self._dlib_chips is not None:
            return self._dlib_chips.cut(photo, face.box)
        if self.spec.box_margin is not None:
            return crop_box(photo, face.box, self.spec.box_margin, self.spec.chip_size)
        if self.spec.template is None:  # __init__ makes the chip cutter exactly then
            raise AssertionError(f"{self.spec.name} has neither a template nor dlib's chips")
        return align_face(photo, face.landmarks, self.spec.template, self.spec.chip_size)

    def faces(
        self, image: Photo | bytes | str | Path, timer: StageTimer | None = None
    ) -> list[Face]:
        """Every face in `image`, most probable first, each embedded."""
        timer = timer or StageTimer()
        return self.embedded(self.aligned_faces(image, timer), timer)

    def aligned_faces(
        self, image: Photo | bytes | str | Path, timer: StageTimer | None = None
    ) -> list[AlignedFace]:
        """Every face in `image`, most probable first, cut out and assessed, not embedded."""
        timer = timer or StageTimer()
        if not isinstance(image, Photo):
            with timer.stage("decode"):
                image = load_image(image)
        detected = self.detect(image, timer)
        with timer.stage("align"):
            return [self.aligned_face(image, face) for face in detected]

    def aligned_face(self, photo: Photo, face: DetectedFace) -> AlignedFace:
        """One detected face cut out and assessed (a fused pipeline also cuts its parts')."""
        chip = self.align(photo, face)
        return AlignedFace(
            face.box, face.probability, face.landmarks, assess(face.box, face.landmarks, chip), chip
        )

    def embedded(self, faces: list[AlignedFace], timer: StageTimer | None = None) -> list[Face]:
        """The faces with their embeddings, computed in batches (faces of several photos at
        once is what makes a bulk import fast: one network call per batch, not per photo)."""
        timer = timer or StageTimer()
        with timer.stage("embed"):
            embeddings = self.embed_chips([face.chip for face in faces])
        return [
            Face(f.box, f.probability, f.landmarks, f.quality, f.chip, embedding=e)
            for f, e in zip(faces, embeddings, strict=True)
        ]

    def distances(self, queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
        """(Q, G) euclidean distances between embeddings, as the twin network defines them.

        From the differences themselves (exact, no |q|² + |g|² - 2 q·g cancellation), a few
        queries at a time: evaluation and training pass thousands of embeddings against
        thousands, whose (Q, G, D) differences at once would take gigabytes."""
        queries = np.asarray(queries, np.float32)
        gallery = np.asarray(gallery, np.float32)
        out = np.empty((len(queries), len(gallery)), np.float32)
        step = max(1, _DIFFERENCES_AT_ONCE // max(1, gallery.size))
        for start in range(0, len(queries), step):
            differences = queries[start : start + step, None, :] - gallery[None, :, :]
            out[start : start + step] = np.sqrt(np.einsum("qgd,qgd->qg", differences, differences))
        return out


class FaceEmbedder(FacePipeline):
    """The pipeline on torch: training, evaluation, the export, and serving on a GPU. (On a
    CPU the service runs models.serving.ServingEmbedder: the same on ONNX Runtime.)"""

    def __init__(self, config: EmbedderConfig | None = None) -> None:
        import torch

        from models.siamese import SiameseNetwork

        self.config = config or EmbedderConfig()
        super().__init__(calibrated(get_backbone(self.config.backbone), self.config.mirrored))
        self.device = torch.device(
            self.config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        )
        backbone = self.spec.load(self.config.weights_path)
        self.version = weights_version(
            self.spec, backbone, self.config.weights_path is not None, self.config.mirrored
        )
        # Former names of this version (flip TTA was not part of them: none is certain then).
        path, flip = self.config.weights_path, self.config.mirrored
        self.mirrored = flip
        self.former_versions = [file_digest_version(self.spec, path)] if path and not flip else []
        self.network = SiameseNetwork(backbone, self.spec.l2_normalize, flip)
        self.network.to(self.device).eval()
        self.detector = FaceDetector(self.config.detector, str(self.device))

    def embed_chips(self, chips: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """(N, S, S, 3) uint8 chips -> (N, D) float32 embeddings, in batches."""
        import torch

        chips = np.asarray(chips, dtype=np.uint8)
        if len(chips) == 0:
            return np.zeros((0, self.spec.embedding_dim), dtype=np.float32)
        out = []
        with torch.inference_mode():
            for start in range(0, len(chips), EMBED_BATCH):
                batch = torch.from_numpy(chips[start : start + EMBED_BATCH]).to(self.device)
                batch = batch.permute(0, 3, 1, 2).float()
                out.append(self.network.embed(batch).cpu().numpy())
        return np.concatenate(out).astype(np.float32)
