"""An int8 copy of the gallery's matrix: the first, coarse pass of a search at large sizes.

At a million templates the float32 matrix is 512 MB and one query reads all of it: memory
bandwidth, not arithmetic, bounds the search (bench/gallery.py). The int8 copy (one scale per
row) is a quarter of that; ONNX Runtime's MatMulInteger multiplies it by the query, quantized
the same way, in exact int32 arithmetic. Each approximate dot product is off by at most
`dot_error_bound` (Cauchy-Schwarz on the measured quantization residuals), so the search widens
its window of candidates by that bound and measures every candidate exactly: the best and the
runner-up stay those of the plain distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

# Below this many templates the float32 product is as fast (bench/gallery.py: at 100,000 the
# float32 matrix, 51 MB, largely stays in cache) and the int8 pass only adds its work.
COARSE_FROM_ROWS = 200_000
INT8_LIMIT = 127  # symmetric: -127..127, so a value and its negation are both exact
# The residual norms are float32 figures: this covers their relative rounding (D products and
# sums, each off by one epsilon: ~1e-5), with a wide margin.
_BOUND_MARGIN = 1.001
_EPSILON = float(np.finfo(np.float32).eps)
_CHUNK_ROWS = 65_536  # 32 MB of float32 at 128-d


@dataclass(frozen=True)
class Int8Rows:
    """Rows as int8 values times one float32 scale each, with what bounds their error."""

    values: np.ndarray  # (N, D) int8
    scales: np.ndarray  # (N,) float32: row ≈ values * scale
    largest_residual: float  # max over rows of |row - values * scale|
    largest_norm: float  # max over rows of |values * scale|

    def extended(self, values: np.ndarray, more: Int8Rows) -> Int8Rows:
        """These rows then `more`'s, whose values are already written in `values` (the
        shared storage) past this one's end."""
        return Int8Rows(
            values,
            np.concatenate([self.scales, more.scales]),
            max(self.largest_residual, more.largest_residual),
            max(self.largest_norm, more.largest_norm),
        )


def quantize(rows: np.ndarray) -> Int8Rows:
    """(N, D) float32 rows as int8 values and per-row scales (in chunks: no full-size
    temporaries at a million rows)."""
    rows = np.asarray(rows, np.float32)
    values = np.empty(rows.shape, np.int8)
    scales = np.empty(len(rows), np.float32)
    residual = norm = 0.0
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        chunk_scales = np.abs(chunk).max(axis=1, initial=0.0) / np.float32(INT8_LIMIT)
        chunk_scales[chunk_scales == 0] = 1.0
        chunk_values = np.clip(np.rint(chunk / chunk_scales[:, None]), -INT8_LIMIT, INT8_LIMIT)
        approximated = chunk_values * chunk_scales[:, None]
        residual = max(residual, float(np.linalg.norm(chunk - approximated, axis=1).max()))
        norm = max(norm, float(np.linalg.norm(approximated, axis=1).max()))
        values[start : start + _CHUNK_ROWS] = chunk_values
        scales[start : start + _CHUNK_ROWS] = chunk_scales
    # The norms are float32 figures: widened by their rounding (relative and absolute).
    slack = 4 * _EPSILON * norm
    return Int8Rows(values, scales, residual * _BOUND_MARGIN + slack, norm * _BOUND_MARGIN + slack)


def approximate_dots(
    rows: Int8Rows, queries: np.ndarray, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(Q, N) approximate dot products of the (Q, D) queries with every row, and (Q,) bounds
    on how far each query's figures are from the exact ones."""
    quantized = quantize(queries)
    products = int8_product(threads)(rows.values, np.ascontiguousarray(quantized.values.T))
    dots = np.multiply(products.T, rows.scales, dtype=np.float32)  # converts as it multiplies
    dots *= quantized.scales[:, None]
    return dots, dot_error_bound(rows, queries, quantized)


def dot_error_bound(rows: Int8Rows, queries: np.ndarray, quantized: Int8Rows) -> np.ndarray:
    """|q·g - q̃·g̃| <= |q|·|g - g̃| + |q - q̃|·|g̃| for every row g (Cauchy-Schwarz), where ~
    is the int8 approximation; the int32 product itself is exact."""
    queries64 = np.asarray(queries, np.float64)
    approximated = quantized.values.astype(np.float64) * quantized.scales[:, None]
    query_residuals = np.linalg.norm(queries64 - approximated, axis=1) * _BOUND_MARGIN
    query_norms = np.linalg.norm(queries64, axis=1) * _BOUND_MARGIN
    return query_norms * rows.largest_residual + query_residuals * rows.largest_norm


@cache
def int8_product(threads: int) -> _Int8Product:
    """One MatMulInteger: (N, D) int8 rows by (D, Q) int8 queries, exact in int32."""
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["rows", "queries"], ["dots"])],
        "int8_dots",
        [
            helper.make_tensor_value_info("rows", TensorProto.INT8, ["N", "D"]),
            helper.make_tensor_value_info("queries", TensorProto.INT8, ["D", "Q"]),
        ],
        [helper.make_tensor_value_info("dots", TensorProto.INT32, ["N", "Q"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    options = ort.SessionOptions()
    # One thread by default, as the service's other inference: requests already run side by
    # side (ROLLCALL_SEARCH_THREADS gives a large gallery's search more where cores are spare).
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return _Int8Product(session)


class _Int8Product:
    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session

    def __call__(self, rows: np.ndarray, queries: np.ndarray) -> np.ndarray:
        [dots] = self._session.run(None, {"rows": rows, "queries": queries})
        return dots
