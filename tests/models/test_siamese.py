"""`models.siamese`: one shared backbone, a symmetric distance."""

from __future__ import annotations

import torch

from models.embedder import FaceEmbedder


def test_twin_network_is_one_shared_backbone_and_symmetric(embedder: FaceEmbedder) -> None:
    network = embedder.network
    assert len([m for m in network.children()]) == 1  # one backbone, both inputs
    chips = torch.rand(4, 3, 150, 150) * 255
    with torch.inference_mode():
        forward = network.distance(chips[:2], chips[2:])
        backward = network.distance(chips[2:], chips[:2])
        single = (network.embed(chips[:1]) - network.embed(chips[2:3])).norm()
    torch.testing.assert_close(forward, backward)
    torch.testing.assert_close(forward[0], single, atol=1e-5, rtol=1e-5)
