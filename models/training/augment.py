"""Augmentation of aligned chips during training."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def augment(chips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random flip, small affine (+-6 deg, +-5% scale, +-3% shift), small colour jitter.

    Kept small on purpose: the chips are already aligned, and the service's chips never come
    rotated or off-centre by more than alignment noise.
    """
    n = chips.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    flip = torch.rand(n, generator=generator) < 0.5
    chips = torch.where(flip.view(n, 1, 1, 1), chips.flip(-1), chips)
    angle = torch.deg2rad(uniform(-6.0, 6.0))
    scale = uniform(0.95, 1.05)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, uniform(-0.06, 0.06)], 1),
            torch.stack([sin, cos, uniform(-0.06, 0.06)], 1),
        ],
        1,
    ).to(chips)
    grid = F.affine_grid(theta, list(chips.shape), align_corners=False)
    chips = F.grid_sample(chips, grid, mode="bilinear", padding_mode="border", align_corners=False)
    brightness = uniform(0.9, 1.1, 1, 1, 1).to(chips)
    contrast = uniform(0.9, 1.1, 1, 1, 1).to(chips)
    tint = uniform(0.96, 1.04, 3, 1, 1).to(chips)
    mean = chips.mean(dim=(1, 2, 3), keepdim=True)
    chips = ((chips - mean) * contrast + mean) * brightness * tint
    return chips.clamp(0.0, 255.0)
