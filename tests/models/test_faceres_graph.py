"""How faceres's graph reader folds a TF.js chain into convolution layers, on small graphs of the
same ops (the installed network itself: tests/models/test_backbones_faceres.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.backbones.faceres import EMBEDDING_NODE, GraphNode, TfjsGraph


def node(name: str, op: str, *inputs: str, strides: tuple[int, int] = (1, 1)) -> GraphNode:
    return GraphNode(name, op, inputs, strides)


def chain_graph(rng: np.random.Generator) -> tuple[list[GraphNode], dict[str, np.ndarray]]:
    """conv (stride 2) -> Mul -> Add -> Relu -> Minimum 6 -> Maximum 0 -> depthwise -> Add
    -> Mean: the pattern of each faceres block."""
    constants = {
        "k1": rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
        "m1": rng.uniform(0.5, 2, 4).astype(np.float32),
        "a1": rng.normal(size=4).astype(np.float32),
        "six": np.array(6.0, np.float32),
        "zero": np.array(0.0, np.float32),
        "k2": rng.normal(size=(3, 3, 4, 1)).astype(np.float32),
        "a2": rng.normal(size=4).astype(np.float32),
        "axes": np.array([1, 2], np.int32),
    }
    nodes = [
        node("input", "Placeholder"),
        node("conv", "Conv2D", "input", "k1", strides=(2, 2)),
        node("mul", "Mul", "conv", "m1"),
        node("add", "Add", "mul", "a1"),
        node("relu", "Relu", "add"),
        node("min", "Minimum", "relu", "six"),
        node("max", "Maximum", "min", "zero"),
        node("dw", "DepthwiseConv2dNative", "max", "k2"),
        node("add2", "Add", "dw", "a2"),
        node(EMBEDDING_NODE, "Mean", "add2", "axes"),
    ]
    return nodes, constants


def by_hand(x: torch.Tensor, c: dict[str, np.ndarray]) -> torch.Tensor:
    """The same graph op by op, TensorFlow's SAME padding written out for these sizes."""

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(c[name])

    # 9 x 9, kernel 3, stride 2: total padding 2, one each side; stride 1: one each side.
    y = F.conv2d(F.pad(x, (1, 1, 1, 1)), t("k1").permute(3, 2, 0, 1), stride=2)
    y = y * t("m1").view(1, -1, 1, 1) + t("a1").view(1, -1, 1, 1)
    y = torch.maximum(torch.minimum(torch.relu(y), torch.tensor(6.0)), torch.tensor(0.0))
    y = F.conv2d(F.pad(y, (1, 1, 1, 1)), t("k2").permute(2, 3, 0, 1), groups=4)
    y = y + t("a2").view(1, -1, 1, 1)
    return y.mean(dim=(2, 3))


def test_a_folded_chain_computes_what_its_nodes_compute() -> None:
    rng = np.random.default_rng(0)
    nodes, constants = chain_graph(rng)
    graph = TfjsGraph(nodes, constants).eval()
    x = torch.from_numpy(rng.normal(size=(2, 3, 9, 9)).astype(np.float32)) * 3
    with torch.inference_mode():
        expected = by_hand(x, constants)
        assert len(graph.layers) == 2  # two convolutions, everything else folded in
        assert torch.allclose(graph(x), expected, atol=1e-5)
        last = x.contiguous(memory_format=torch.channels_last)
        assert torch.allclose(graph(last), expected, atol=1e-5)
    # Relu, Minimum 6, Maximum 0: one clamp to 0..6
    assert graph.layers[0].low == 0.0 and graph.layers[0].high == 6.0


def test_an_even_size_is_padded_after_as_tensorflow_does() -> None:
    rng = np.random.default_rng(1)
    nodes, constants = chain_graph(rng)
    graph = TfjsGraph(nodes, constants).eval()
    x = torch.from_numpy(rng.normal(size=(1, 3, 8, 8)).astype(np.float32))
    kernel = torch.from_numpy(constants["k1"]).permute(3, 2, 0, 1)
    with torch.inference_mode():
        # 8 x 8, kernel 3, stride 2: total padding 1, after (bottom / right) only
        expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), kernel, stride=2)
        expected = expected * torch.from_numpy(constants["m1"]).view(1, -1, 1, 1)
        expected = expected + torch.from_numpy(constants["a1"]).view(1, -1, 1, 1)
        assert torch.allclose(graph.layers[0](x), expected.clamp(0, 6), atol=1e-5)


def test_a_graph_that_is_not_a_chain_is_refused() -> None:
    nodes, constants = chain_graph(np.random.default_rng(2))
    nodes[4] = node("relu", "Relu", "mul")  # skips `add`: a branch, not a chain
    with pytest.raises(ValueError, match="not a chain"):
        TfjsGraph(nodes, constants)


def test_a_per_channel_op_after_a_clip_is_refused() -> None:
    nodes, constants = chain_graph(np.random.default_rng(3))
    nodes.insert(7, node("late", "Mul", "max", "m1"))
    nodes[8] = node("dw", "DepthwiseConv2dNative", "late", "k2")
    with pytest.raises(ValueError, match="after a clip"):
        TfjsGraph(nodes, constants)
