"""The twin (Siamese) network: ONE backbone applied to both inputs, compared by distance.

Weight sharing is structural: there is a single backbone module, so both branches are the same
function and `distance(a, b) == distance(b, a)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pairwise_distances(queries: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
    """(Q, G) euclidean distances between every query and every gallery embedding."""
    return torch.cdist(queries.unsqueeze(0), gallery.unsqueeze(0)).squeeze(0)


class SiameseNetwork(nn.Module):
    """Embeds aligned chips with one shared backbone; compares them by euclidean distance."""

    def __init__(self, backbone: nn.Module, l2_normalize: bool, flip_tta: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.l2_normalize = l2_normalize
        self.flip_tta = flip_tta

    def embed(self, chips: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) RGB chips in 0..255 -> (N, D) embeddings."""
        embeddings = self.backbone(chips)
        if self.flip_tta:
            # Test-time augmentation: average with the mirror image's embedding.
            embeddings = (embeddings + self.backbone(chips.flip(-1))) / 2
        if self.l2_normalize:
            embeddings = F.normalize(embeddings, dim=1)
        return embeddings

    def forward(self, chips_a: torch.Tensor, chips_b: torch.Tensor) -> torch.Tensor:
        """(N,) distances between the pairs (chips_a[i], chips_b[i])."""
        both = self.embed(torch.cat([chips_a, chips_b]))
        first, second = both.split(len(chips_a))
        return (first - second).norm(dim=1)

    distance = forward
