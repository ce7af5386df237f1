"""Decoding uploaded or on-disk photos into RGB arrays, safely.

Every entry point of Rollcall (CLI, REST, import) goes through `load_image`, so one place decides
what an acceptable photo is: any format Pillow reads, EXIF orientation applied (phones store
portrait shots sideways), every mode (RGBA, LA, P, L, I;16, CMYK...) flattened to 8-bit RGB.

Memory is bounded, not only the pixel count: a few hundred KB of PNG or a JPEG header can claim
7000x7000 pixels. Large JPEGs are scaled down while decoding (draft mode); what the whole decode
would allocate at its peak, for the image's mode (`decode_peak_bytes`: alpha, 16-bit, palette,
float...), is computed from the header and refused over a memory budget before any pixel is
decoded; every other large image is scaled down before it is converted, and the full-size one
freed before the conversions; only a few photos are decoded at once, and the C heap is handed
back to the system after a large decode (glibc keeps freed blocks otherwise).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 50_000_000  # a 50 MP photo is far above any phone; a bomb is far above that
# Decoded photos are scaled down to this side: 5x the 800 px detection works at, and above every
# photo the tests and benchmarks use (the largest is 2333 px), so recognition sees what it saw.
DEFAULT_MAX_SIDE = 4096
# Pillow holds RGB in 4 bytes a pixel: a photo at the pixel cap (50 MP) just fits.
DEFAULT_MEMORY_BUDGET = 200 * 2**20
# Decoding holds up to the budget per photo; two at once keep a burst of uploads under ~0.5 GB
# while a 2-core server still decodes in parallel.
MAX_CONCURRENT_DECODES = 2
_decode_slots = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)

_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}  # else 4
# Pillow scales these through a premultiplied full-size copy (4 bytes a pixel).
_PREMULTIPLIED = ("LA", "RGBA")
# Pillow's `reduce` (one pass, no intermediate image) refuses these: they are resized instead
# (nearest for "1" and "P", which needs no intermediate either; a two-pass box for 16-bit).
_RESIZED = ("1", "P", "I;16", "I;16B", "I;16L", "I;16N")
# Bytes a pixel that the conversions to RGB and to a numpy array hold at once, besides the
# image converted (16-bit rescaled, alpha flattened onto white, RGB, the array and its bytes):
# measured peaks (tests/models/test_image_decoder_memory.py), rounded up.
_CONVERSION_BYTES_PER_PIXEL = 11
_RGB_CONVERSION_BYTES_PER_PIXEL = 7  # RGB needs no conversion: only the array and its bytes
_DECODER_OVERHEAD = 8 * 2**20  # the decoder's own buffers, Pillow's blocks' rounding
# A decode that peaked above this hands the freed C heap back (malloc_trim): below, the cost
# of trimming is not worth it.
_TRIM_ABOVE = 32 * 2**20
_ORIENTATIONS = {  # EXIF orientation -> the transpose that makes the photo upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112


class ImageError(ValueError):
    """The input is not a usable photo. `code` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Photo:
    """An RGB photo as a (H, W, 3) uint8 array, upright; `bilevel`: decoded from a 1-bit image
    (black and white, e.g. a dithered scan or a fax), whose faces do not match their photos."""

    pixels: np.ndarray
    bilevel: bool = False

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def decoded_bytes(image: Image.Image) -> int:
    """The memory Pillow needs to hold `image` decoded, at its (draft) size and mode."""
    width, height = image.size
    return width * height * _BYTES_PER_PIXEL.get(image.mode, 4)


def _reduced_size(size: tuple[int, int], max_side: int) -> tuple[tuple[int, int], int]:
    factor = math.ceil(max(size) / max_side)
    if factor == 1:
        return size, factor
    # At least a pixel a side: a valid 1x40000 image is no corrupt one.
    return (max(1, size[0] // factor), max(1, size[1] // factor)), factor


def decode_peak_bytes(image: Image.Image, max_side: int) -> int:
    """The most `_decode` holds at once for `image` (at its draft size and mode), known from
    the header alone: the decoded image and its scaling down, or, at the scaled size (the
    full-size image is freed once scaled), the conversions to RGB."""
    bytes_per_pixel = _BYTES_PER_PIXEL.get(image.mode, 4)
    full_pixels = image.width * image.height
    (width, height), factor = _reduced_size(image.size, max_side)
    reduced_pixels = width * height
    converting = (
        _RGB_CONVERSION_BYTES_PER_PIXEL if image.mode == "RGB" else _CONVERSION_BYTES_PER_PIXEL
    )
    if factor == 1:
        return _DECODER_OVERHEAD + full_pixels * (bytes_per_pixel + converting)
    if image.mode in _RESIZED:  # a two-pass box keeps a (width / factor) x height intermediate
        intermediate = 0 if image.mode in ("1", "P") else width * image.height
        scaling = (intermediate + reduced_pixels) * bytes_per_pixel
    else:  # `reduce`, after a premultiplied copy for alpha, and back from it
        premultiplied = 4 * full_pixels if image.mode in _PREMULTIPLIED else 0
        scaling = premultiplied + 2 * 4 * reduced_pixels
    return _DECODER_OVERHEAD + max(
        full_pixels * bytes_per_pixel + scaling,
        reduced_pixels * (bytes_per_pixel + converting),
    )


def _trim_heap() -> None:
    """Give freed C heap back to the system. glibc's malloc keeps big freed blocks in its
    arenas (its mmap threshold grows to their size): without this, a burst of large decodes
    leaves a worker gigabytes larger for good (3.0 GB kept after 8 at once)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_malloc_trim = _find_malloc_trim()


def _to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit greyscale scaled into 8 bits by its real range (clipping would make it white)."""
    if image.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return image
    _, high = cast(tuple[float, float], image.getextrema())  # one band: (low, high)
    scale = 255 / high if high > 255 else 1.0
    # `point` maps "I" images linearly in place of a float64 copy of every pixel.
    return image.convert("I").point(lambda value: value * scale).convert("L")


def _to_rgb(image: Image.Image) -> Image.Image:
    image = _to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, as a viewer would show them, not black. Pasting
        # through the alpha onto a white RGB image holds one copy, not alpha_composite's three.
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba)
        return white
    return image if image.mode == "RGB" else image.convert("RGB")


def _decode(image: Image.Image, max_pixels: int, max_side: int, budget: int) -> Image.Image:
    """Decode within the budget, scaled down to `max_side`, upright and in 8-bit RGB."""
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            "image_too_large",
            f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted.",
        )
    factor = math.ceil(max(width, height) / max_side)
    if factor > 1:  # JPEG: decode at 1/2, 1/4 or 1/8 scale, no smaller than width / factor
        image.draft(None, (math.ceil(width / factor), math.ceil(height / factor)))
    if decode_peak_bytes(image, max_side) > budget:
        raise ImageError(
            "image_too_large",
            f"The image is {width}x{height} pixels of mode {image.mode}; decoding it would take "
            f"more than {budget // 2**20} MiB.",
        )
    # Only now: a PNG's EXIF may follow its pixels, so reading it decodes them.
    orientation = image.getexif().get(_EXIF_ORIENTATION)
    # Pillow's own bomb check (DecompressionBombError) stays on as a second line.
    image.load()
    size, factor = _reduced_size(image.size, max_side)
    if factor > 1:  # a box filter: `reduce` (one pass) where Pillow has it for the mode
        full = image
        if full.mode in _RESIZED:
            image = full.resize(size, Image.Resampling.BOX)
        else:
            image = full.reduce(factor)
        full.close()  # frees the full-size pixels before the conversions
    if orientation in _ORIENTATIONS:
        image = image.transpose(_ORIENTATIONS[orientation])
    return _to_rgb(image)


def _open_and_decode(
    stream: io.BytesIO | Path, max_pixels: int, max_side: int, budget: int
) -> tuple[Photo, int]:
    """The photo, and how many bytes its decoded full-size image took."""
    with Image.open(stream) as image:
        decoded = decoded_bytes(image)
        try:
            rgb = _decode(image, max_pixels, max_side, budget)
        except Exception:
            if decoded > _TRIM_ABOVE:  # a decode that failed half-way may have allocated it
                _trim_heap()
            raise
        pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
        return Photo(pixels, bilevel=image.mode == "1"), decoded


def load_image(
    source: bytes | str | Path,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> Photo:
    """Decode `source` (raw bytes or a path) into an upright RGB `Photo`, at most `max_side`
    pixels a side (larger photos are scaled down by a whole factor).

    Raises `ImageError` with code `empty_file`, `not_an_image`, `corrupt_image`,
    `unsupported_image` or `image_too_large` (over `max_pixels`, or a decode that would hold
    more than `memory_budget` bytes at its peak: refused before decoding).
    """
    if isinstance(source, bytes | bytearray):
        if not source:
            raise ImageError("empty_file", "The uploaded file is empty.")
        stream: io.BytesIO | Path = io.BytesIO(source)
    else:
        stream = Path(source)
        if not stream.is_file():
            raise ImageError("not_found", f"No such file: {stream}")
        if stream.stat().st_size == 0:
            raise ImageError("empty_file", f"The file is empty: {stream}")
    try:
        with _decode_slots:
            photo, decoded = _open_and_decode(stream, max_pixels, max_side, memory_budget)
            if decoded > _TRIM_ABOVE:  # every big block of the decode is freed by now
                _trim_heap()
            return photo
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError("not_an_image", "The file is not an image in a known format.") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError("image_too_large", "The image is too large to decode safely.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("corrupt_image", f"The image is corrupt or truncated: {exc}") from exc
    except NotImplementedError as exc:  # e.g. a DDS file of a pixel format Pillow lacks
        raise ImageError(
            "unsupported_image", f"The image's format or encoding is not supported: {exc}"
        ) from exc
    except MemoryError as exc:
        raise ImageError("image_too_large", "The image is too large to decode.") from exc
    except Exception as exc:  # any other decoder failure is the file's fault, not a 500
        raise ImageError("corrupt_image", f"The image cannot be decoded: {exc!r}") from exc
