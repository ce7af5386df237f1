"""`FusedPipeline`: a fused backbone (dlib+faceres) as one embedder.

Every face is found once (the first part's detector), cut out once per part (dlib's aligned
chip, faceres's box crop) and embedded by each part's network; its embedding is the
concatenation [sqrt(w1) e1, sqrt(w2) e2], whose euclidean distance is the fused score
D^2 = w1 d1^2 + w2 d2^2 (bench/fusion.py, tools/fit_faceres.py). The gallery, the search, the
runner-up rule, rosters, reembed and template versions then run on it unchanged; a burst fuses
each part on its own (models.burst.fuse's `parts`).

Each part is the embedder the service would run for it alone: on ONNX Runtime
(models.serving.ServingEmbedder, exported files) on a CPU, on torch (FaceEmbedder) on a GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.backbones import BackboneSpec, fusion_version, get_backbone
from models.detection import DetectedFace
from models.embedder import AlignedFace, EmbedderConfig, Face, FacePipeline
from models.image import Photo
from models.quality import assess
from models.timing import StageTimer

# (config of one part, whether it needs a detector) -> that part's embedder
PartFactory = Callable[[EmbedderConfig, bool], FacePipeline]


class FusionUnavailableError(RuntimeError):
    """A part of the fusion cannot be loaded here (faceres not installed, weights file...)."""


@dataclass(frozen=True)
class FusedAlignedFace(AlignedFace):
    """An aligned face with the chips of the fusion's other parts (`chip` is the first's)."""

    part_chips: tuple[np.ndarray, ...] = ()


class FusedPipeline(FacePipeline):
    """Detect once, cut one chip per part, embed with each part, concatenate weighted."""

    def __init__(self, config: EmbedderConfig, make_part: PartFactory) -> None:
        spec = get_backbone(config.backbone)
        if not spec.parts:
            raise ValueError(f"{spec.name} is not a fusion of backbones")
        refuse_unavailable(spec, config)
        super().__init__(get_backbone(spec.parts[0][0]))  # the first part's chips and quality
        self.spec = spec
        self.config = config
        # Each part embeds as the fusion's weights and curves were fitted on (tools/fit_faceres.py):
        # single chips, whatever ROLLCALL_FLIP_TTA says (faceres mirror-averages on its own).
        self.parts = [
            make_part(EmbedderConfig(name, None, config.device, False, config.detector), index == 0)
            for index, (name, _) in enumerate(spec.parts)
        ]
        self.scales = np.sqrt([weight for _, weight in spec.parts]).astype(np.float32)
        self.version = fusion_version(spec, [part.version for part in self.parts])
        self.former_versions = []
        self.mirrored = False
        self.detector = self.parts[0].detector

    def embed_chips(self, chips: np.ndarray | list[np.ndarray]) -> np.ndarray:
        raise TypeError(
            f"{self.spec.name} embeds faces (a chip per part), not one chip: embedded()"
        )

    def aligned_face(self, photo: Photo, face: DetectedFace) -> FusedAlignedFace:
        """The face cut out for each part: the first part's chip, assessed, and the others'."""
        first, *others = (part.align(photo, face) for part in self.parts)
        quality = assess(face.box, face.landmarks, first)
        return FusedAlignedFace(
            face.box, face.probability, face.landmarks, quality, first, part_chips=tuple(others)
        )

    def embedded(self, faces: list[AlignedFace], timer: StageTimer | None = None) -> list[Face]:
        """The faces with their fused embeddings: each part's network on its own chips, in
        batches, the parts concatenated, each times the square root of its weight."""
        timer = timer or StageTimer()
        fused: list[FusedAlignedFace] = []
        others = len(self.parts) - 1
        for face in faces:
            if not (isinstance(face, FusedAlignedFace) and len(face.part_chips) == others):
                raise TypeError("a fused backbone embeds the faces its own aligned_faces() cut")
            fused.append(face)
        with timer.stage("embed"):
            per_part = [self.parts[0].embed_chips([f.chip for f in fused])]
            per_part += [
                part.embed_chips([f.part_chips[index] for f in fused])
                for index, part in enumerate(self.parts[1:])
            ]
            embeddings = np.concatenate(
                [scale * e for scale, e in zip(self.scales, per_part, strict=True)], axis=1
            ).astype(np.float32)
        return [
            Face(f.box, f.probability, f.landmarks, f.quality, f.chip, embedding=e)
            for f, e in zip(fused, embeddings, strict=True)
        ]


def refuse_unavailable(spec: BackboneSpec, config: EmbedderConfig) -> None:
    """A fusion takes its parts' pretrained weights: say what is missing, and its fix."""
    if config.weights_path is not None:
        raise FusionUnavailableError(
            f"{spec.name} embeds with its parts' pretrained weights; "
            "a weights file (ROLLCALL_WEIGHTS_PATH) is for one backbone"
        )
    for name, _ in spec.parts:
        part = get_backbone(name)
        if not part.pretrained_is_local():
            hint = f": run `{part.install_hint}` first" if part.install_hint else ""
            raise FusionUnavailableError(f"{spec.name} needs {name}, which is not installed{hint}")


def part_lengths(spec: BackboneSpec) -> tuple[int, ...]:
    """A backbone's parts' embedding lengths (empty: one network): bursts fuse each alone."""
    return tuple(get_backbone(name).embedding_dim for name, _ in spec.parts)
