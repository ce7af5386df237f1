"""`python -m models.onnx_export DIR --backbone NAME [--weights FILE] [--flip-tta]`: writes the
serving networks (MTCNN's P-Net, R-Net, O-Net and the backbone) as .onnx files, with the
weights version they embed with, into DIR.

Run by models/onnx_files.py in a child process: this one imports torch, the service does not.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import warnings
from pathlib import Path

import torch
from facenet_pytorch import MTCNN
from torch import nn

from models.backbones import get_backbone
from models.embedder import file_digest_version, weights_version
from models.files import atomic_write
from models.onnx_files import MANIFEST

OPSET = 17  # supported by every onnxruntime release since 1.13


def export_serving_networks(
    directory: Path, backbone: str, weights_path: Path | None, flip_tta: bool
) -> None:
    """The four networks and `manifest.json` (written last: it marks the directory whole)."""
    spec = get_backbone(backbone)
    module = spec.load(weights_path)
    mtcnn = MTCNN(device="cpu")
    size = spec.chip_size
    pnet, rnet, onet = (with_split_prelu(net) for net in (mtcnn.pnet, mtcnn.rnet, mtcnn.onet))
    graphs = {
        # P-Net runs on every level of the image pyramid: any height and width.
        "pnet": export_onnx(pnet, torch.zeros(1, 3, 48, 64), any_size=True),
        "rnet": export_onnx(rnet, torch.zeros(1, 3, 24, 24)),
        "onet": export_onnx(onet, torch.zeros(1, 3, 48, 48)),
        "backbone": export_onnx(module, torch.zeros(1, 3, size, size)),
    }
    for name, graph in graphs.items():
        with atomic_write(directory / f"{name}.onnx") as handle:
            handle.write(graph)
    former = [file_digest_version(spec, weights_path)] if weights_path and not flip_tta else []
    manifest = {
        "version": weights_version(spec, module, weights_path is not None, flip_tta),
        "former_versions": former,
    }
    with atomic_write(directory / MANIFEST, "w") as handle:
        json.dump(manifest, handle, indent=2)


def export_onnx(module: nn.Module, example: torch.Tensor, any_size: bool = False) -> bytes:
    """The module's forward as an ONNX graph whose first (batch) axis may be any size, and with
    `any_size` its last two (height and width: MTCNN's P-Net runs on every pyramid level)."""
    with torch.inference_mode():
        traced = module.eval()(example)
    outputs = [f"output{i}" for i in range(len(traced) if isinstance(traced, tuple) else 1)]
    axes = {0: "batch", 2: "height", 3: "width"} if any_size else {0: "batch"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The tracer warns about Python shape arithmetic in forward(): the shapes it traces
        # are those of every chip of the backbone's fixed size.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # torch >= 2.9 deprecates this exporter for the dynamo one, which needs onnxscript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module.eval(),
            (example,),
            # arg-type: torch annotates `f` as a path, but writes to a file-like object too
            # (its docstring says so); a buffer keeps the graph off the disk.
            buffer,  # type: ignore[arg-type]
            dynamo=False,  # the TorchScript exporter: needs no onnxscript
            input_names=["input"],
            output_names=outputs,
            dynamic_axes={name: axes for name in ["input", *outputs]},
            opset_version=OPSET,
        )
    return buffer.getvalue()


class SplitPReLU(nn.Module):
    """PReLU as relu(x) + a·min(x, 0): exactly the same numbers (one of the two terms is always
    zero), but ONNX Runtime keeps Relu, Min, Mul and Add in its blocked convolution layout,
    where its PRelu reorders every map to NCHW and back. Its profile of MTCNN's nets: PRelu 40%
    of their time; split, each net runs 25-35% faster."""

    slope: torch.Tensor  # a buffer: exported with the graph

    def __init__(self, prelu: nn.PReLU) -> None:
        super().__init__()
        self.register_buffer("slope", prelu.weight.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slope = self.slope.view(1, -1, *([1] * (x.dim() - 2)))  # per channel, any rank
        return torch.relu(x) + slope * torch.clamp(x, max=0.0)


def with_split_prelu(net: nn.Module) -> nn.Module:
    """A copy of `net` with every PReLU a `SplitPReLU`."""
    net = copy.deepcopy(net)
    for name, child in list(net.named_modules()):
        if isinstance(child, nn.PReLU):
            parent, _, attribute = name.rpartition(".")
            setattr(net.get_submodule(parent) if parent else net, attribute, SplitPReLU(child))
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--flip-tta", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a few small traces: no pool worth its start
    export_serving_networks(args.directory, args.backbone, args.weights, args.flip_tta)


if __name__ == "__main__":
    main()
