"""Area resizes of a photo from its running sums: torch's `interpolate(mode="area")` without
a pool per crop.

An area resize averages the input over integer windows (from floor(i·in/out) to
ceil((i+1)·in/out)), so every one of them is differences of running sums of the photo, computed
once: the same numbers (float64 sums). Both MTCNNs (models/mtcnn.py on torch, models/mtcnn_onnx.py
on ONNX Runtime) resize their image pyramid and candidate crops with it.
"""

from __future__ import annotations

import numpy as np


class SummedArea:
    """The photo's running sums down its columns: area resizes of any window of it, each
    costing its output's rows times the window's width (no pass over the whole photo)."""

    def __init__(self, pixels: np.ndarray) -> None:
        height, width, channels = pixels.shape
        self.height, self.width = height, width
        self._down = np.zeros((height + 1, width, channels), np.float64)
        np.cumsum(pixels, axis=0, dtype=np.float64, out=self._down[1:])
        self._table: np.ndarray | None = None  # the 2-D summed-area table, made for crops

    def resize(
        self, top: int, left: int, bottom: int, right: int, size: tuple[int, int]
    ) -> np.ndarray:
        """Rows top..bottom-1, columns left..right-1 area-resized to (C, out_h, out_w) float32,
        as torch's `interpolate(mode="area")` computes it: rows averaged, then columns."""
        y0, y1 = _windows(bottom - top, size[0])
        x0, x1 = _windows(right - left, size[1])
        rows = self._down[y1 + top, left:right] - self._down[y0 + top, left:right]
        rows /= (y1 - y0)[:, None, None]
        across = np.zeros((size[0], right - left + 1, rows.shape[2]), np.float64)
        np.cumsum(rows, axis=1, out=across[:, 1:])
        averaged = (across[:, x1] - across[:, x0]) / (x1 - x0)[None, :, None]
        return averaged.astype(np.float32).transpose(2, 0, 1)

    def crops(
        self,
        tops: np.ndarray,
        lefts: np.ndarray,
        bottoms: np.ndarray,
        rights: np.ndarray,
        size: int,
    ) -> np.ndarray:
        """(N, C, size, size) float32: each window area-resized, all at once (four lookups
        per output pixel in the summed-area table)."""
        if self._table is None:
            self._table = np.zeros((self.height + 1, self.width + 1, self._down.shape[2]))
            np.cumsum(self._down, axis=1, out=self._table[:, 1:])
        i = np.arange(size)
        heights, widths = (bottoms - tops)[:, None], (rights - lefts)[:, None]
        y0, y1 = tops[:, None] + (i * heights) // size, tops[:, None] - (-(i + 1) * heights) // size
        x0, x1 = lefts[:, None] + (i * widths) // size, lefts[:, None] - (-(i + 1) * widths) // size
        t = self._table
        y0, y1, x0, x1 = y0[:, :, None], y1[:, :, None], x0[:, None, :], x1[:, None, :]
        sums = t[y1, x1] - t[y0, x1] - t[y1, x0] + t[y0, x0]
        areas = ((y1 - y0) * (x1 - x0))[..., None]
        return (sums / areas).astype(np.float32).transpose(0, 3, 1, 2)


def _windows(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pooling's windows: [floor(i·in/out), ceil((i+1)·in/out)) for each output i."""
    i = np.arange(size_out)
    return (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)
