"""Reader for dlib's binary serialization format, enough to load the face-recognition ResNet.

dlib files carry no type information: a ``.dat`` file is whatever ``dlib::serialize(net, out)``
wrote for one concrete C++ network type, so it can only be read by walking the same type. This
module therefore has two parts:

* ``DlibReader``: the serialization primitives of ``dlib/serialize.h`` (integers, floats, bools,
  strings) plus ``dlib/cuda/tensor.h``'s ``resizable_tensor`` and ``alias_tensor``.
* ``read_dlib_resnet``: walks the ``anet_type`` of dlib's ``dnn_face_recognition_ex.cpp`` (the
  network in ``dlib_face_recognition_resnet_model_v1.dat``) layer by layer, following
  ``dlib/dnn/core.h`` (add_layer / add_tag_layer / add_skip_layer / add_loss_layer) and the
  per-layer ``deserialize`` functions of ``dlib/dnn/{layers,input,loss}.h``, and returns the
  parameters as numpy arrays.

Every inconsistency (truncation, unexpected version string, geometry that differs from the
expected network, trailing bytes) raises ``ValueError`` naming the byte offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

# float_details (dlib/float_details.h) marks non-finite values with these exponents.
_EXP_INF = 32000
_EXP_NINF = 32001
_EXP_NAN = 32002


class DlibReader:
    """Sequential reader of dlib's serialization primitives over an in-memory buffer."""

    def __init__(self, data: bytes, source: str = "<bytes>") -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, message: str, pos: int | None = None) -> NoReturn:
        at = self.pos if pos is None else pos
        raise ValueError(f"{self.source}: {message} (at byte offset {at} of {len(self.data)})")

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            self.fail(f"unexpected end of data while reading {what} ({n} bytes needed)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    # -- integers: ser_helper::pack_int / unpack_int ---------------------------------------
    def read_int(self, nbytes: int, signed: bool, what: str = "integer") -> int:
        """A control byte then that many little-endian magnitude bytes.

        Signed: bit 0x80 of the control byte is the sign, the low nibble the byte count (the
        0x70 bits are ignored). Unsigned: the control byte is masked with 0x8F, so a set sign
        bit makes the count too large, which dlib rejects like any count above sizeof(T).
        """
        start = self.pos
        control = self.take(1, what)[0]
        negative = signed and bool(control & 0x80)
        size = control & 0x0F if signed else control & 0x8F
        if size == 0 or size > nbytes:
            self.fail(f"invalid control byte 0x{control:02x} for a {nbytes}-byte {what}", start)
        value = int.from_bytes(self.take(size, what), "little")
        return -value if negative else value

    def read_i32(self, what: str = "int") -> int:
        return self.read_int(4, signed=True, what=what)

    def read_i64(self, what: str = "long") -> int:
        return self.read_int(8, signed=True, what=what)

    def read_u32(self, what: str = "unsigned int") -> int:
        return self.read_int(4, signed=False, what=what)

    def read_u64(self, what: str = "unsigned long") -> int:
        return self.read_int(8, signed=False, what=what)

    # -- floats: float_details = int64 mantissa, int16 exponent -----------------------------
    def read_float(self, what: str = "float", single: bool = False) -> float:
        """Value = mantissa * 2**exponent (``deserialize_floating_point``).

        dlib also accepts an older ASCII float format, recognisable because its first byte has
        one of the 0x70 bits set; no dlib model we load uses it, so it is rejected.
        """
        if self.pos < len(self.data) and self.data[self.pos] & 0x70:
            self.fail(f"{what} uses dlib's legacy ASCII float encoding, which is not supported")
        mantissa = self.read_int(8, signed=True, what=f"{what} mantissa")
        exponent = self.read_int(2, signed=True, what=f"{what} exponent")
        if exponent == _EXP_INF:
            return math.inf
        if exponent == _EXP_NINF:
            return -math.inf
        if exponent >= _EXP_NAN:
            return math.nan
        if single:
            # dlib converts to float first, then ldexp in float: mirror that rounding.
            return float(np.ldexp(np.float32(mantissa), exponent))
        return math.ldexp(float(mantissa), exponent)

    def read_bool(self, what: str = "bool") -> bool:
        """Stored as the ASCII character '0' or '1'."""
        start = self.pos
        ch = self.take(1, what)[0]
        if ch not in (ord("0"), ord("1")):
            self.fail(f"invalid {what} byte 0x{ch:02x} (expected '0' or '1')", start)
        return ch == ord("1")

    def read_string(self, what: str = "string") -> str:
        """An unsigned long length then the raw bytes (no terminator)."""
        length = self.read_u64(f"{what} length")
        raw = self.take(length, what)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            self.fail(f"{what} is not ASCII: {raw[:40]!r}", self.pos - length)

    def read_tensor(self, what: str = "tensor") -> np.ndarray:
        """``serialize(const tensor&)``: int version 2, four long long dims (n, k, nr, nc),
        then n*k*nr*nc little-endian IEEE float32 values in row-major (NCHW) order."""
        start = self.pos
        version = self.read_i32(f"{what} version")
        if version != 2:
            self.fail(f"unexpected {what} version {version} (expected 2)", start)
        shape = tuple(self.read_i64(f"{what} dimension") for _ in range(4))
        if any(d < 0 for d in shape):
            self.fail(f"negative {what} shape {shape}", start)
        count = math.prod(shape)
        raw = self.take(4 * count, f"{what} data of shape {shape}")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def read_alias_tensor(self, what: str = "alias_tensor") -> tuple[int, int, int, int]:
        """``serialize(const alias_tensor&)``: int version 1 then four long long dims; an
        alias_tensor is only a shape (a view into a layer's flat ``params`` tensor)."""
        start = self.pos
        version = self.read_i32(f"{what} version")
        if version != 1:
            self.fail(f"unexpected {what} version {version} (expected 1)", start)
        n, k, nr, nc = (self.read_i64(f"{what} dimension") for _ in range(4))
        if min(n, k, nr, nc) < 0:
            self.fail(f"negative {what} shape {(n, k, nr, nc)}", start)
        return n, k, nr, nc

    def expect_version(self, what: str, allowed: range | set[int]) -> int:
        start = self.pos
        version = self.read_i32(f"{what} version")
        if version not in allowed:
            self.fail(f"unexpected {what} version {version}", start)
        return version

    def expect_string(self, what: str, allowed: set[str]) -> str:
        start = self.pos
        tag = self.read_string(f"{what} version string")
        if tag not in allowed:
            self.fail(f"expected {what} version string {sorted(allowed)}, found {tag!r}", start)
        return tag


# ---------------------------------------------------------------------------------------------
# The network: anet_type from dlib/examples/dnn_face_recognition_ex.cpp (also compiled into the
# Python binding, tools/python/src/face_recognition.cpp), listed input-first.


@dataclass(frozen=True)
class Input:
    size: int  # input_rgb_image_sized<150>


@dataclass(frozen=True)
class Con:
    filters: int
    kernel: int
    stride: int

    @property
    def padding(self) -> int:
        # con_'s default template argument: _padding_y = _stride_y!=1 ? 0 : _nr/2.
        return 0 if self.stride != 1 else self.kernel // 2


@dataclass(frozen=True)
class Affine:
    pass


@dataclass(frozen=True)
class Relu:
    pass


@dataclass(frozen=True)
class Pool:
    kind: str  # "max_pool" or "avg_pool"
    kernel: int  # 0 means "the whole input" (avg_pool_everything)
    stride: int

    @property
    def padding(self) -> int:
        # Same default as con_: 0 when strided, kernel/2 otherwise (0 for kernel 0).
        return 0 if self.stride != 1 else self.kernel // 2


@dataclass(frozen=True)
class Tag:
    id: int


@dataclass(frozen=True)
class Skip:
    id: int


@dataclass(frozen=True)
class AddPrev:
    tag: int


@dataclass(frozen=True)
class FcNoBias:
    outputs: int


Layer = Input | Con | Affine | Relu | Pool | Tag | Skip | AddPrev | FcNoBias


def _block(n: int, stride: int) -> list[Layer]:
    # block = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>
    return [Con(n, 3, stride), Affine(), Relu(), Con(n, 3, 1), Affine()]


def _ares(n: int) -> list[Layer]:
    # ares = relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>
    return [Tag(1), *_block(n, 1), AddPrev(1), Relu()]


def _ares_down(n: int) -> list[Layer]:
    # ares_down = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>
    return [Tag(1), *_block(n, 2), Tag(2), Skip(1), Pool("avg_pool", 2, 2), AddPrev(2), Relu()]


ANET_LAYERS: tuple[Layer, ...] = (
    Input(150),
    Con(32, 7, 2),
    Affine(),
    Relu(),
    Pool("max_pool", 3, 2),
    *_ares(32), *_ares(32), *_ares(32),  # alevel4
    *_ares_down(64), *_ares(64), *_ares(64), *_ares(64),  # alevel3
    *_ares_down(128), *_ares(128), *_ares(128),  # alevel2
    *_ares_down(256), *_ares(256), *_ares(256),  # alevel1
    *_ares_down(256),  # alevel0
    Pool("avg_pool", 0, 1),  # avg_pool_everything
    FcNoBias(128),
)  # fmt: skip
"""anet_type below its loss layer (loss_metric), innermost (input) first."""


# ---------------------------------------------------------------------------------------------
# Parsed parameters


@dataclass(frozen=True)
class ConvWeights:
    weight: np.ndarray  # (out, in, kh, kw), float32: dlib's filter layout == torch's OIHW
    bias: np.ndarray  # (out,), float32
    stride: int
    padding: int


@dataclass(frozen=True)
class AffineWeights:
    gamma: np.ndarray  # (channels,), float32; y = gamma[c] * x + beta[c]
    beta: np.ndarray


@dataclass(frozen=True)
class DlibResNetWeights:
    input_avg: np.ndarray  # (3,) float32, per-channel R, G, B means subtracted before /256
    convs: list[ConvWeights]  # forward order: stem, then conv1/conv2 of each residual block
    affines: list[AffineWeights]  # forward order, one after each conv
    fc_weight: np.ndarray  # (256, 128) float32, dlib's (inputs, outputs) layout: y = x @ W
    loss_margin: float
    loss_distance_threshold: float


# ---------------------------------------------------------------------------------------------
# Layer details (dlib/dnn/layers.h, input.h, loss.h)


def _check(r: DlibReader, start: int, what: str, found: object, expected: object) -> None:
    if found != expected:
        r.fail(f"{what}: found {found}, expected {expected}", start)


def _read_con(r: DlibReader, spec: Con) -> ConvWeights:
    start = r.pos
    version = r.expect_string("con_", {"con_4", "con_5", "con_6"})
    params = r.read_tensor("con_ params").ravel()
    num_filters = r.read_i64("con_ num_filters")
    geometry = (
        r.read_i64("con_ nr"),
        r.read_i64("con_ nc"),
        r.read_i32("con_ stride_y"),
        r.read_i32("con_ stride_x"),
        r.read_i32("con_ padding_y"),
        r.read_i32("con_ padding_x"),
    )
    filters = r.read_alias_tensor("con_ filters")
    r.read_alias_tensor("con_ biases")
    for name in ("learning_rate", "weight_decay", "bias_learning_rate", "bias_weight_decay"):
        r.read_float(f"con_ {name}_multiplier")
    use_bias = r.read_bool("con_ use_bias") if version in ("con_5", "con_6") else True
    use_relu = r.read_bool("con_ use_relu") if version == "con_6" else False

    k, p, s = spec.kernel, spec.padding, spec.stride
    _check(r, start, "con_ num_filters", num_filters, spec.filters)
    _check(r, start, "con_ (nr, nc, stride_y, stride_x, padding_y, padding_x)", geometry,
           (k, k, s, s, p, p))  # fmt: skip
    _check(r, start, "con_ filter shape (without input channels)",
           (filters[0], filters[2], filters[3]), (spec.filters, k, k))  # fmt: skip
    if use_relu:
        r.fail("con_ with a fused relu is not part of this network", start)
    # params = all filter weights followed by one bias per filter (con_::setup).
    n_weights = math.prod(filters)
    _check(r, start, "con_ params size", params.size, n_weights + (num_filters if use_bias else 0))
    weight = params[:n_weights].reshape(filters)
    bias = params[n_weights:] if use_bias else np.zeros(num_filters, np.float32)
    return ConvWeights(weight=weight, bias=bias, stride=s, padding=p)


def _read_affine(r: DlibReader) -> AffineWeights:
    start = r.pos
    version = r.read_string("affine_ version string")
    if version in ("bn_con2", "bn_fc2"):
        # dlib converts a stored bn_ into affine_ on load; this network's file never needs it.
        r.fail(f"affine_ stored as batch-norm {version!r} is not supported", start)
    if version not in ("affine_", "affine_2"):
        r.fail(f"expected affine_ version string, found {version!r}", start)
    params = r.read_tensor("affine_ params").ravel()
    gamma_shape = r.read_alias_tensor("affine_ gamma")
    beta_shape = r.read_alias_tensor("affine_ beta")
    mode = r.read_i32("affine_ mode")
    disabled = r.read_bool("affine_ disabled") if version == "affine_2" else False
    # CONV_MODE (0): one gamma/beta per channel, alias shape (1, k, 1, 1); FC_MODE (1) would
    # have one per element.
    _check(r, start, "affine_ mode (0 = CONV_MODE)", mode, 0)
    if disabled:
        r.fail("disabled affine_ layers are not supported", start)
    _check(r, start, "affine_ beta shape", beta_shape, gamma_shape)
    channels = math.prod(gamma_shape)
    _check(r, start, "affine_ params size", params.size, 2 * channels)
    # params = gamma then beta (affine_::setup).
    return AffineWeights(gamma=params[:channels], beta=params[channels:])


def _read_relu(r: DlibReader) -> None:
    start = r.pos
    version = r.expect_string("relu_", {"relu_", "relu_2"})
    if version == "relu_2" and r.read_bool("relu_ disabled"):
        r.fail("disabled relu_ layers are not supported", start)


def _read_pool(r: DlibReader, spec: Pool) -> None:
    start = r.pos
    r.expect_string(spec.kind, {f"{spec.kind}_2"})
    geometry = (
        r.read_i64(f"{spec.kind} nr"),
        r.read_i64(f"{spec.kind} nc"),
        r.read_i32(f"{spec.kind} stride_y"),
        r.read_i32(f"{spec.kind} stride_x"),
        r.read_i32(f"{spec.kind} padding_y"),
        r.read_i32(f"{spec.kind} padding_x"),
    )
    k, s, p = spec.kernel, spec.stride, spec.padding
    _check(r, start, f"{spec.kind} (nr, nc, stride_y, stride_x, padding_y, padding_x)",
           geometry, (k, k, s, s, p, p))  # fmt: skip


def _read_fc_no_bias(r: DlibReader, spec: FcNoBias) -> np.ndarray:
    start = r.pos
    version = r.expect_string("fc_", {"fc_2", "fc_3"})
    num_outputs = r.read_u64("fc_ num_outputs")
    num_inputs = r.read_u64("fc_ num_inputs")
    params = r.read_tensor("fc_ params").ravel()
    weights_shape = r.read_alias_tensor("fc_ weights")
    r.read_alias_tensor("fc_ biases")
    bias_mode = r.read_i32("fc_ bias_mode")
    for name in ("learning_rate", "weight_decay", "bias_learning_rate", "bias_weight_decay"):
        r.read_float(f"fc_ {name}_multiplier")
    if version == "fc_3":
        r.read_bool("fc_ use_bias")  # irrelevant: FC_NO_BIAS never has a bias
    _check(r, start, "fc_ bias_mode (1 = FC_NO_BIAS)", bias_mode, 1)
    _check(r, start, "fc_ num_outputs", num_outputs, spec.outputs)
    # weights = alias_tensor(num_inputs, num_outputs); forward is gemm(output, input, w).
    _check(r, start, "fc_ weights shape", weights_shape, (num_inputs, num_outputs, 1, 1))
    _check(r, start, "fc_ params size", params.size, num_inputs * num_outputs)
    return params.reshape(num_inputs, num_outputs)


def _read_input(r: DlibReader, spec: Input) -> np.ndarray:
    start = r.pos
    r.expect_string("input layer", {"input_rgb_image_sized"})
    avg = [r.read_float(f"input avg_{c}", single=True) for c in ("red", "green", "blue")]
    size = (r.read_u64("input nr"), r.read_u64("input nc"))
    _check(r, start, "input_rgb_image_sized (nr, nc)", size, (spec.size, spec.size))
    return np.array(avg, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Network structure (dlib/dnn/core.h)


@dataclass
class _Collected:
    input_avg: np.ndarray | None = None
    convs: list[ConvWeights] = field(default_factory=list)
    affines: list[AffineWeights] = field(default_factory=list)
    fc_weight: np.ndarray | None = None


def _read_details(r: DlibReader, spec: Layer, out: _Collected) -> None:
    """One layer's ``details`` object; parameters are appended in forward order because the
    innermost layer's details are written first (see ``_read_subnet``)."""
    match spec:
        case Con():
            out.convs.append(_read_con(r, spec))
        case Affine():
            out.affines.append(_read_affine(r))
        case Relu():
            _read_relu(r)
        case Pool():
            _read_pool(r, spec)
        case AddPrev():
            # add_prev_ stores only its version string: the tag id lives in the C++ type.
            r.expect_string("add_prev_", {"add_prev_"})
        case FcNoBias():
            out.fc_weight = _read_fc_no_bias(r, spec)
        case _:
            raise AssertionError(f"no details reader for {spec}")


def _read_subnet(r: DlibReader, layers: tuple[Layer, ...], top: int, out: _Collected) -> None:
    """Deserialize the sub-network whose outermost layer is ``layers[top]``.

    add_layer::serialize writes its version, then its whole sub-network, then its own details
    and bookkeeping, so versions appear outermost-first and details innermost-first.
    """
    spec = layers[top]
    what = type(spec).__name__
    if isinstance(spec, Tag | Skip):
        # add_tag_layer / add_skip_layer: int version 1, then the sub-network. Nothing else.
        r.expect_version(f"add_{what.lower()}_layer", {1})
        _read_subnet(r, layers, top - 1, out)
        return
    if top == 1:
        # add_layer<LAYER, INPUT_LAYER>, the specialisation over the input layer (version 2..3).
        version = r.expect_version("add_layer (over input)", range(2, 4))
        if not isinstance(layers[0], Input):
            raise AssertionError(f"the innermost layer is {layers[0]}, not the input layer")
        out.input_avg = _read_input(r, layers[0])
        _read_details(r, spec, out)
        _read_layer_state(r, what, extra_tensors=("grad_final",))
        if version >= 3:
            r.read_u32("_sample_expansion_factor")
        return
    # Generic add_layer (version 1..2).
    version = r.expect_version(f"add_layer ({what})", range(1, 3))
    _read_subnet(r, layers, top - 1, out)
    _read_details(r, spec, out)
    _read_layer_state(r, what, extra_tensors=("params_grad",) if version == 2 else ())


def _read_layer_state(r: DlibReader, what: str, extra_tensors: tuple[str, ...]) -> None:
    """Training bookkeeping after each add_layer's details; read and discarded."""
    r.read_bool(f"{what} this_layer_setup_called")
    r.read_bool(f"{what} gradient_input_is_stale")
    r.read_bool(f"{what} get_output_and_gradient_input_disabled")
    for name in ("x_grad", "cached_output", *extra_tensors):
        r.read_tensor(f"{what} {name}")


def read_dlib_resnet_bytes(data: bytes, source: str = "<bytes>") -> DlibResNetWeights:
    """Parse a serialized ``anet_type`` (see ``ANET_LAYERS``) from ``data``."""
    r = DlibReader(data, source)
    # add_loss_layer: int version 1, the loss details, then the network.
    r.expect_version("add_loss_layer", {1})
    if r.expect_string("loss_metric_", {"loss_metric_", "loss_metric_2"}) == "loss_metric_2":
        margin = r.read_float("loss_metric_ margin", single=True)
        threshold = r.read_float("loss_metric_ dist_thresh", single=True)
    else:
        margin, threshold = 0.1, 0.75  # values hard-coded for the old version (loss.h)
    out = _Collected()
    _read_subnet(r, ANET_LAYERS, len(ANET_LAYERS) - 1, out)
    if not r.at_end():
        r.fail(f"{len(data) - r.pos} unexpected trailing bytes after the network")
    assert out.input_avg is not None and out.fc_weight is not None
    return DlibResNetWeights(
        input_avg=out.input_avg,
        convs=out.convs,
        affines=out.affines,
        fc_weight=out.fc_weight,
        loss_margin=margin,
        loss_distance_threshold=threshold,
    )


def read_dlib_resnet(path: str | Path) -> DlibResNetWeights:
    """Parse ``dlib_face_recognition_resnet_model_v1.dat`` (or any file of the same type)."""
    path = Path(path)
    return read_dlib_resnet_bytes(path.read_bytes(), source=str(path))
