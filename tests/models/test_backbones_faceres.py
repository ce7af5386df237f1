"""The opt-in faceres backbone: installed by its command, it computes the TF.js graph's values.

The reference is an independent evaluation of the same graph file: every node in the file's
order, in TensorFlow's own NHWC layout, in numpy (convolutions by explicit sums over the kernel
window), its weights decoded from the manifest here. The torch module reorders kernels to NCHW,
prunes the heads and pads with F.pad: a wrong layout, padding side or weight offset changes the
features far beyond the tolerance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from models.alignment import crop_box
from models.backbones import get_backbone
from models.image import load_image
from tests.support.helpers import install_faceres

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`rollcall models install faceres` into a fresh cache: npm pack, digest, files."""
    directory = install_faceres(tmp_path_factory.mktemp("cache"))
    assert sorted(p.name for p in directory.iterdir()) == ["LICENSE", "faceres.bin", "faceres.json"]
    return directory


def reference_features(directory: Path, bgr: np.ndarray) -> np.ndarray:
    """The graph's `global_pooling/Mean` for (1, 224, 224, 3) BGR input, in numpy NHWC."""
    document = json.loads((directory / "faceres.json").read_text())
    data = (directory / "faceres.bin").read_bytes()
    values: dict[str, np.ndarray] = {}
    offset = 0
    for entry in document["weightsManifest"][0]["weights"]:
        count = math.prod(entry["shape"]) if entry["shape"] else 1
        stored = {"float32": "<f4", "int32": "<i4"}[entry["dtype"]]
        kind = "<f2" if entry.get("quantization") else stored
        array = np.frombuffer(data, kind, count, offset)
        offset += array.nbytes
        values[entry["name"]] = array.astype(np.float64 if kind != "<i4" else np.int64).reshape(
            entry["shape"]
        )
    for node in document["modelTopology"]["node"]:
        op, inputs = node["op"], [values[i] for i in node.get("input", [])]
        if op == "Const":
            continue
        if op == "Placeholder":
            values[node["name"]] = bgr.astype(np.float64)
        elif op in ("Conv2D", "DepthwiseConv2dNative"):
            stride = int(node["attr"]["strides"]["list"]["i"][1])
            values[node["name"]] = convolve(inputs[0], inputs[1], stride, op != "Conv2D")
        elif op in ("Mul", "Add", "Minimum", "Maximum"):
            function = {"Mul": np.multiply, "Add": np.add, "Minimum": np.minimum,
                        "Maximum": np.maximum}[op]  # fmt: skip
            values[node["name"]] = function(inputs[0], inputs[1])
        elif op == "Relu":
            values[node["name"]] = np.maximum(inputs[0], 0)
        elif op == "Mean":
            values[node["name"]] = inputs[0].mean(axis=tuple(int(a) for a in inputs[1]))
            if node["name"] == "global_pooling/Mean":
                return values[node["name"]]
    raise AssertionError("the graph has no global_pooling/Mean")


def convolve(x: np.ndarray, kernel: np.ndarray, stride: int, depthwise: bool) -> np.ndarray:
    """TensorFlow's SAME convolution, NHWC input and HWIO (depthwise: HWC1) kernel."""
    _, height, width, _ = x.shape
    rows, cols = kernel.shape[:2]
    out_h, out_w = -(-height // stride), -(-width // stride)
    pad_h = max((out_h - 1) * stride + rows - height, 0)
    pad_w = max((out_w - 1) * stride + cols - width, 0)
    padded = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                        (pad_w // 2, pad_w - pad_w // 2), (0, 0)))  # fmt: skip
    out = 0.0
    for i in range(rows):
        for j in range(cols):
            window = padded[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride]
            # depthwise: each channel by its own kernel; else a matrix over the channels
            out = out + (window * kernel[i, j, :, 0] if depthwise else window @ kernel[i, j])
    return np.asarray(out)


def chip_of(faces_dir: Path, embedder, person: str, file: str) -> np.ndarray:
    photo = load_image(faces_dir / "people" / person / file)
    face = embedder.detector.detect(photo)[0]
    return crop_box(photo, face.box, 10, 224)


def test_the_torch_graph_reproduces_the_tfjs_graph_on_a_real_face(
    installed: Path, faces_dir: Path, embedder
) -> None:
    from models.backbones.faceres import CAFFE_BGR_MEANS, load_faceres

    chip = chip_of(faces_dir, embedder, "barack_obama", "obama.jpg")
    bgr = chip[None, :, :, ::-1].astype(np.float64) - np.array(CAFFE_BGR_MEANS)
    expected = reference_features(installed, bgr)[0]

    network = load_faceres(installed, finish=False)
    with torch.inference_mode():
        rgb = torch.from_numpy(chip).permute(2, 0, 1)[None].float()
        graph = network.graph(rgb.flip(1) - network.bgr_means)[0].numpy()

    assert expected.shape == (1024,) and np.abs(expected).max() > 0.1
    assert np.abs(graph - expected).max() <= 1e-4 * np.abs(expected).max()


def test_faceres_embeds_the_same_person_nearer_than_another(
    installed: Path, faces_dir: Path, embedder
) -> None:
    from models.backbones.faceres import load_faceres
    from models.siamese import SiameseNetwork

    spec = get_backbone("faceres")
    network = SiameseNetwork(load_faceres(installed), spec.l2_normalize)
    faces = (
        ("barack_obama", "obama.jpg"),
        ("barack_obama", "obama2.jpg"),
        ("joe_biden", "biden.jpg"),
    )
    chips = [chip_of(faces_dir, embedder, *face) for face in faces]
    with torch.inference_mode():
        batch = torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).float()
        e = network.embed(batch).numpy()
    same, other = np.linalg.norm(e[0] - e[1]), np.linalg.norm(e[0] - e[2])
    assert same < spec.threshold < other


def test_the_exported_onnx_graph_embeds_batches_as_torch_does(
    installed: Path, faces_dir: Path, embedder
) -> None:
    """The service embeds from the ONNX export: batches of any size (its chips and their
    mirror images run as one batch inside), the same embeddings as torch."""
    import onnxruntime as ort

    from models.backbones.faceres import load_faceres
    from models.onnx_export import export_onnx

    network = load_faceres(installed)
    session = ort.InferenceSession(
        export_onnx(network, torch.zeros(1, 3, 224, 224)), providers=["CPUExecutionProvider"]
    )
    faces = (("barack_obama", "obama.jpg"), ("barack_obama", "obama2.jpg"),
             ("joe_biden", "biden.jpg"))  # fmt: skip
    chips = np.stack([chip_of(faces_dir, embedder, *face) for face in faces])
    batch = torch.from_numpy(chips).permute(0, 3, 1, 2).float()
    with torch.inference_mode():
        expected = network(batch).numpy()
    exported = session.run(None, {session.get_inputs()[0].name: batch.numpy()})[0]
    assert exported.shape == (3, 1024)
    assert np.abs(exported - expected).max() <= 1e-4 * np.abs(expected).max()
    # each face its own: the first two are one person, nearer than the third
    assert np.linalg.norm(exported[0] - exported[1]) < np.linalg.norm(exported[0] - exported[2])
