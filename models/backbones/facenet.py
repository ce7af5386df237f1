"""facenet-pytorch's InceptionResnetV1 (512-d, L2-normalised), pretrained on VGGFace2 or CASIA.

Its weights do not ship in a package: they come from a local file when one is configured, else
from facenet-pytorch's own download into the torch cache. Offline and without the file, loading
fails with `WeightsUnavailableError` naming the file to provide.
"""

from __future__ import annotations

from pathlib import Path

import torch
from facenet_pytorch import InceptionResnetV1
from facenet_pytorch.models.inception_resnet_v1 import get_torch_home
from torch import nn

WEIGHTS_FILES = {
    "vggface2": "20180402-114759-vggface2.pt",
    "casia-webface": "20180408-102900-casia-webface.pt",
}


class WeightsUnavailableError(RuntimeError):
    """A backbone's weights are neither configured locally nor downloadable."""


def cached_weights_file(dataset: str) -> Path:
    """Where facenet-pytorch's download of `dataset`'s weights lands (and is looked for)."""
    # facenet-pytorch's own answer (TORCH_HOME, else XDG_CACHE_HOME/torch), as its download uses.
    return Path(get_torch_home()) / "checkpoints" / WEIGHTS_FILES[dataset]


class FacenetBackbone(nn.Module):
    """InceptionResnetV1 taking RGB chips in 0..255, returning unit-length 512-d embeddings."""

    def __init__(self, network: InceptionResnetV1) -> None:
        super().__init__()
        self.network = network

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        # facenet-pytorch's fixed_image_standardization, which the weights were trained with.
        return self.network((chips - 127.5) / 128.0)


def load_facenet(dataset: str, weights_path: Path | None = None) -> FacenetBackbone:
    """Load the InceptionResnetV1 trained on `dataset` ("vggface2" or "casia-webface")."""
    file_name = WEIGHTS_FILES[dataset]
    if weights_path is None:
        cached = cached_weights_file(dataset)
        if not cached.is_file():
            try:
                InceptionResnetV1(pretrained=dataset)  # downloads into the torch cache
            except Exception as exc:
                raise WeightsUnavailableError(
                    f"The weights of facenet-{dataset.split('-')[0]} are not available: "
                    f"download failed ({exc.__class__.__name__}: {exc}). Provide the file "
                    f"{file_name} (facenet-pytorch release v2.2.9) and point "
                    f"ROLLCALL_WEIGHTS_PATH at it, or place it at {cached}."
                ) from exc
        weights_path = cached
    if not Path(weights_path).is_file():
        raise WeightsUnavailableError(
            f"Weights file not found: {weights_path} (expected {file_name} for {dataset})."
        )
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    # The released files carry the training classifier; an embedder has no use for it.
    state = {key: value for key, value in state.items() if not key.startswith("logits.")}
    network = InceptionResnetV1(classify=False)
    network.load_state_dict(state)
    return FacenetBackbone(network).eval()
