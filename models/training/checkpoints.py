"""The fine-tuned backbone as a file the base `BackboneSpec.load` reads, and the check that it
does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.backbones import BackboneSpec
from models.files import atomic_write
from models.siamese import SiameseNetwork


def exportable_state_dict(backbone: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict the base spec's `load(weights_path)` expects.

    facenet's loader builds a bare InceptionResnetV1, so the wrapper's `network.` is dropped.
    """
    from models.backbones.facenet import FacenetBackbone

    module = backbone.network if isinstance(backbone, FacenetBackbone) else backbone
    return {key: value.detach().cpu().clone() for key, value in module.state_dict().items()}


def load_exported_state(backbone: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load an `exportable_state_dict` back into `backbone` (undoing its unwrapping)."""
    from models.backbones.facenet import FacenetBackbone

    if isinstance(backbone, FacenetBackbone):
        state = {f"network.{key}": value for key, value in state.items()}
    backbone.load_state_dict(state)


def save_state(state: dict[str, torch.Tensor], path: Path) -> None:
    with atomic_write(path) as handle:
        torch.save(state, handle)


def chips_tensor(chips: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, S, S, 3) uint8 chips as the (N, 3, S, S) float tensor a backbone takes."""
    return torch.from_numpy(np.ascontiguousarray(chips)).to(device).permute(0, 3, 1, 2).float()


def check_loadable(
    spec: BackboneSpec, network: SiameseNetwork, weights: Path, chips: np.ndarray
) -> float:
    """Reload the saved weights through `spec.load` and return the largest embedding difference
    from the network in memory on a few chips (it should be ~0)."""
    device = next(network.parameters()).device
    reloaded = SiameseNetwork(spec.load(weights), spec.l2_normalize, network.flip_tta)
    reloaded = reloaded.to(device).eval()
    network.eval()
    sample = chips_tensor(chips[:4], device)
    with torch.no_grad():
        return float((reloaded.embed(sample) - network.embed(sample)).abs().max())
