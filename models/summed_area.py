"""Area resizes of a photo from its summed-area table: torch's `interpolate(mode="area")`
without a pool per pyramid level or crop.

An area resize averages the input over integer windows (from floor(i·in/out) to
ceil((i+1)·in/out)), so every output pixel is four lookups in the photo's summed-area table,
built once: the same numbers (the table's integer sums are exact). MTCNN (models/mtcnn.py)
resizes its image pyramid and candidate crops with it.
"""

from __future__ import annotations

import numpy as np

_INT32_SUMS = np.iinfo(np.int32).max // 255  # pixels an int32 table can sum exactly


class SummedArea:
    """The photo's summed-area table: `table[y, x]` sums rows < y and columns < x."""

    def __init__(self, pixels: np.ndarray) -> None:
        if pixels.dtype != np.uint8:  # the exact integer sums assume 0..255
            raise TypeError(f"a summed-area table is made of uint8 pixels, not {pixels.dtype}")
        height, width, channels = pixels.shape
        self.height, self.width = height, width
        dtype = np.int32 if height * width <= _INT32_SUMS else np.int64
        table = np.zeros((height + 1, width + 1, channels), dtype)
        # Down the rows one whole row at a time (SIMD adds), then across in one cumsum:
        # numpy's cumsum along the first axis of an image runs ~3x slower than this loop
        # (bench/pipeline.py's 480p detection spent 15 of its 60 ms in cumsums).
        for row in range(height):
            np.add(table[row, 1:], pixels[row], out=table[row + 1, 1:])
        np.cumsum(table[:, 1:], axis=1, out=table[:, 1:])
        self._table = table

    def resize(
        self, top: int, left: int, bottom: int, right: int, size: tuple[int, int]
    ) -> np.ndarray:
        """Rows top..bottom-1, columns left..right-1 area-resized to (C, out_h, out_w) float32,
        as torch's `interpolate(mode="area")` computes it."""
        tops, lefts, bottoms, rights = (np.array([edge]) for edge in (top, left, bottom, right))
        return self.crops(tops, lefts, bottoms, rights, size)[0]

    def crops(
        self,
        tops: np.ndarray,
        lefts: np.ndarray,
        bottoms: np.ndarray,
        rights: np.ndarray,
        size: int | tuple[int, int],
    ) -> np.ndarray:
        """(N, C, out_h, out_w) float32: each window area-resized, all at once (four lookups
        per output pixel in the summed-area table)."""
        out_h, out_w = size if isinstance(size, tuple) else (size, size)
        y0, y1 = _windows(tops, bottoms, out_h)
        x0, x1 = _windows(lefts, rights, out_w)
        # Lookups by flat index (one `take` per corner): ~3x faster than indexing the 3-D
        # table with broadcast row and column arrays.
        rows = self._table.shape[1]
        flat = self._table.reshape(-1, self._table.shape[2])
        top_rows, bottom_rows = (y0 * rows)[:, :, None], (y1 * rows)[:, :, None]
        x0, x1 = x0[:, None, :], x1[:, None, :]
        sums = (
            flat.take(bottom_rows + x1, axis=0)
            - flat.take(top_rows + x1, axis=0)
            - flat.take(bottom_rows + x0, axis=0)
            + flat.take(top_rows + x0, axis=0)
        )
        areas = ((y1 - y0)[:, :, None] * (x1 - x0))[..., None]
        return (sums / areas).astype(np.float32).transpose(0, 3, 1, 2)


def _windows(starts: np.ndarray, ends: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive pooling's windows, (N, size) each: [floor(i·n/size), ceil((i+1)·n/size)) for
    each output i of a span of n = end - start, offset by its start."""
    i = np.arange(size)
    starts, lengths = starts[:, None], (ends - starts)[:, None]
    return starts + (i * lengths) // size, starts - (-(i + 1) * lengths) // size
