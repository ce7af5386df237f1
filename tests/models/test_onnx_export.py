"""`models.onnx_export`: the serving networks' PReLUs split for ONNX Runtime, same numbers."""

from __future__ import annotations

import torch
from facenet_pytorch import MTCNN
from torch import nn

from models.onnx_export import SplitPReLU, with_split_prelu


def test_split_prelu_nets_give_exactly_the_original_outputs() -> None:
    mtcnn = MTCNN(device="cpu")
    generator = torch.Generator().manual_seed(0)
    for net, size in ((mtcnn.pnet, (37, 53)), (mtcnn.rnet, (24, 24)), (mtcnn.onet, (48, 48))):
        split = with_split_prelu(net)
        assert not any(isinstance(m, nn.PReLU) for m in split.modules())
        assert sum(isinstance(m, SplitPReLU) for m in split.modules()) >= 3
        assert any(isinstance(m, nn.PReLU) for m in net.modules())  # the original untouched
        batch = torch.randn(4, 3, *size, generator=generator) * 2  # both signs everywhere
        with torch.inference_mode():
            for ours, theirs in zip(split.eval()(batch), net.eval()(batch), strict=True):
                assert torch.equal(ours, theirs)
