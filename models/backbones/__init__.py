"""The backbones Rollcall can embed with, each with its chip geometry, distance and threshold.

Every backbone takes (N, 3, S, S) RGB chips with values in 0..255 and normalises them itself.
Distances are euclidean, on L2-normalised embeddings where the backbone expects it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported by the loaders: listing backbones (CLI help) needs none
    from torch import nn

# Canonical positions of MTCNN's 5 landmarks (left eye, right eye, nose, mouth corners) inside
# the facenet chips, measured by `python tools/measure_templates.py`.
# facenet: where the landmarks fall in the MTCNN crops (box, no margin, 160 px) it was trained on.
FAR_CURVES = Path(__file__).resolve().parent / "far_curves"

FACERES_THRESHOLD = 1.148
# dlib+faceres: the distance with the FAR dlib's 0.596 has, on the fusion's own FAR curve
# (tools/fit_faceres.py --fusion-only, half 0)
FUSION_THRESHOLD = 0.666
FUSION = "dlib+faceres"
# dlib-resnet mirror-averaged: the distance with the FAR 0.596 has without it (0.57%), on the
# mirrored FAR curve (far_curves/dlib-resnet+flip.json, tools/fit_mirrored_far_curve.py)
MIRRORED_DLIB_THRESHOLD = 0.586

FACENET_TEMPLATE = np.array(
    [[46.589, 63.941], [118.883, 64.241], [83.648, 97.069], [49.682, 120.717], [116.013, 120.566]],
    dtype=np.float32,
)


@dataclass(frozen=True)
class MirroredCalibration:
    """A backbone's threshold and curves for mirror-averaged embeddings (each face embedded
    with its mirror image too, the two averaged: ROLLCALL_FLIP_TTA), which lie on another
    scale than single ones."""

    threshold: float
    far_curve: Path
    runner_up_curve: Path


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    embedding_dim: int
    chip_size: int
    # (5, 2) landmark positions in chip pixels; None: dlib's own chip (`DlibChipCutter`), or
    # the box's framing when `box_margin` is set
    template: np.ndarray | None
    l2_normalize: bool
    threshold: float  # default: a distance below it means "same person"
    version: str  # names the pretrained weights; a fine-tuned file gets its own
    load: Callable[[Path | None], nn.Module]  # weights file (None: the default) -> module
    # Whether `load(None)` works without a download (weights versions compare against them).
    pretrained_is_local: Callable[[], bool]
    far_curve: Path | None = None  # FAR(t) of the pretrained weights (rollcall calibrate)
    # tau(N) of the pretrained weights' runner-up rule (tools/fit_runner_up_curve.py)
    runner_up_curve: Path | None = None
    # Not aligned: MTCNN's box grown by this many pixels each side, resized to the chip
    box_margin: int | None = None
    # How to get the weights where they are not local (`rollcall models install NAME`)
    install_hint: str = ""
    # A fusion of backbones (models/fusion.py): each (name, weight) embeds every face with its
    # own chip, and the embedding is their concatenation, each part times sqrt(weight), so
    # that the euclidean distance D^2 is the weighted sum of theirs. Empty: one network.
    parts: tuple[tuple[str, float], ...] = ()
    # Its pretrained weights' calibration with mirror averaging; None: the above for both.
    mirrored: MirroredCalibration | None = None


def _load_dlib(weights_path: Path | None) -> nn.Module:
    import torch

    from models.backbones.dlib_resnet import DlibResNet, load_dlib_resnet

    if weights_path is None:
        return load_dlib_resnet()
    network = DlibResNet()
    network.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    return network.eval()


def _load_faceres(weights_path: Path | None) -> nn.Module:
    from models.backbones.faceres import load_faceres

    return load_faceres(weights_path)


def _faceres_installed() -> bool:
    from models.backbones.faceres_files import is_installed  # no torch: a service may ask

    return is_installed()


def _load_fusion(weights_path: Path | None) -> nn.Module:
    raise ValueError(
        f"{FUSION} is two networks, not one: the service embeds with it (models.fusion), "
        "other commands take one of its parts"
    )


def fusion_weights() -> tuple[tuple[str, float], ...]:
    """dlib+faceres's parts and weights: dlib's w and faceres's (1 - w) k, fitted on half 0
    of LFW dev-train by tools/fit_faceres.py --fusion-only (far_curves/dlib+faceres-weights)."""
    path = FAR_CURVES / f"{FUSION}-weights.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    # Rounded to what the version names (6 significant digits), so that weights that embed
    # differently never share a version, however little a refit moves them.
    dlib, faceres = (float(f"{float(document[k]):.6g}") for k in ("dlib", "faceres"))
    return (("dlib-resnet", dlib), ("faceres", faceres))


def _fusion_version(parts: tuple[tuple[str, float], ...], versions: list[str]) -> str:
    """Names both networks' versions and their weights (other weights: other embeddings)."""
    named = ",".join(f"{v}*{w:.6g}" for v, (_, w) in zip(versions, parts, strict=True))
    return f"fusion({named})"


def _always() -> bool:
    return True  # dlib's weights ship in the face_recognition_models package


def _facenet_cached(dataset: str) -> Callable[[], bool]:
    def cached() -> bool:
        from models.backbones.facenet import cached_weights_file

        return cached_weights_file(dataset).is_file()

    return cached


def _facenet_loader(dataset: str) -> Callable[[Path | None], nn.Module]:
    def load(weights_path: Path | None) -> nn.Module:
        from models.backbones.facenet import load_facenet

        return load_facenet(dataset, weights_path)

    return load


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            name="dlib-resnet",
            embedding_dim=128,
            chip_size=150,
            template=None,  # trained on dlib's own chips: cut them exactly
            l2_normalize=False,  # dlib compares raw descriptors
            # `rollcall calibrate ../shared/faces/people --max-far 0`: no false accept in 157
            # impostor pairs, midway between the largest genuine distance (0.551) and the
            # smallest impostor one (0.641). dlib's own LFW figure is 0.6; this is a hair
            # stricter, as a stranger marked present is worse than a student asked to retry.
            threshold=0.596,
            version="dlib_face_recognition_resnet_model_v1",
            far_curve=FAR_CURVES / "dlib-resnet.json",
            runner_up_curve=FAR_CURVES / "dlib-resnet-runner-up.json",
            mirrored=MirroredCalibration(
                threshold=MIRRORED_DLIB_THRESHOLD,
                far_curve=FAR_CURVES / "dlib-resnet+flip.json",
                runner_up_curve=FAR_CURVES / "dlib-resnet+flip-runner-up.json",
            ),
            load=_load_dlib,
            pretrained_is_local=_always,
        ),
        BackboneSpec(
            name="faceres",
            embedding_dim=1024,
            chip_size=224,
            template=None,
            box_margin=10,
            l2_normalize=False,  # the backbone normalises and scales (faceres_mean.json)
            # FAR 0.0057 on half 0 of LFW dev-train's impostor pairs: dlib's 0.596 has that FAR
            # on dev-train (tools/fit_faceres.py). Its distances lie about 0.5 above dlib's,
            # with the same spread (the scale in faceres_mean.json).
            threshold=FACERES_THRESHOLD,
            version="hse-faceres-human-models-3.0.4",
            far_curve=FAR_CURVES / "faceres.json",
            runner_up_curve=FAR_CURVES / "faceres-runner-up.json",
            load=_load_faceres,
            pretrained_is_local=_faceres_installed,
            install_hint="rollcall models install faceres",
        ),
        BackboneSpec(
            name="facenet-vggface2",
            embedding_dim=512,
            chip_size=160,
            template=FACENET_TEMPLATE,
            l2_normalize=True,
            threshold=1.0,
            version="20180402-114759-vggface2",
            load=_facenet_loader("vggface2"),
            pretrained_is_local=_facenet_cached("vggface2"),
        ),
        BackboneSpec(
            name="facenet-casia",
            embedding_dim=512,
            chip_size=160,
            template=FACENET_TEMPLATE,
            l2_normalize=True,
            threshold=1.0,
            version="20180408-102900-casia-webface",
            load=_facenet_loader("casia-webface"),
            pretrained_is_local=_facenet_cached("casia-webface"),
        ),
    )
}
_FUSION_PARTS = fusion_weights()
BACKBONES[FUSION] = BackboneSpec(
    name=FUSION,
    embedding_dim=sum(BACKBONES[name].embedding_dim for name, _ in _FUSION_PARTS),
    chip_size=BACKBONES["dlib-resnet"].chip_size,  # a face's `chip` is dlib's: its quality
    template=None,
    l2_normalize=False,
    threshold=FUSION_THRESHOLD,
    version=_fusion_version(_FUSION_PARTS, [BACKBONES[name].version for name, _ in _FUSION_PARTS]),
    load=_load_fusion,
    pretrained_is_local=_faceres_installed,
    far_curve=FAR_CURVES / f"{FUSION}.json",
    runner_up_curve=FAR_CURVES / f"{FUSION}-runner-up.json",
    install_hint="rollcall models install faceres",
    parts=_FUSION_PARTS,
)


def fusion_version(spec: BackboneSpec, versions: list[str]) -> str:
    """A fusion's weights version from its parts' (each may be +flip)."""
    return _fusion_version(spec.parts, versions)


def calibrated(spec: BackboneSpec, flip_tta: bool) -> BackboneSpec:
    """The spec with the threshold and curves of the embeddings it makes: mirror-averaged
    ones (`flip_tta`) take its mirrored calibration where it has one."""
    if not flip_tta or spec.mirrored is None:
        return spec
    m = spec.mirrored
    return dataclasses.replace(
        spec, threshold=m.threshold, far_curve=m.far_curve, runner_up_curve=m.runner_up_curve
    )


def mirrors(backbone: str, flip_tta: bool | None = None) -> bool:
    """Whether a backbone's faces are mirror-averaged: as `flip_tta` says where it is set, else
    (None) by the backbone's default, on where it ships a calibration for mirror-averaged
    embeddings (dlib-resnet: at 500 enrolled, one frame right at 1% strangers 60.5% -> 67.4% on
    half 1 of dev-train's people, docs/recognition.md). A backbone without one would be decided
    on the wrong scale; faceres averages by itself."""
    return get_backbone(backbone).mirrored is not None if flip_tta is None else flip_tta


def get_backbone(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        choices = ", ".join(BACKBONES)
        raise ValueError(f"Unknown backbone {name!r}; choose one of: {choices}") from None
