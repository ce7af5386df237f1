"""Decoding uploaded or on-disk photos into RGB arrays, safely.

Every entry point of Rollcall (CLI, REST, import) goes through `load_image`, so one place decides
what an acceptable photo is: any format Pillow reads, EXIF orientation applied (phones store
portrait shots sideways), every mode (RGBA, LA, P, L, I;16, CMYK...) flattened to 8-bit RGB.

Memory is bounded, not only the pixel count: a few hundred KB of PNG or a JPEG header can claim
7000x7000 pixels. Large JPEGs are scaled down while decoding (draft mode), what would still take
more than a memory budget once decoded is refused before decoding, every other large image is
scaled down before it is converted, conversions never widen pixels to floats, and only a few
photos are decoded at once.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path

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
    """An RGB photo as a (H, W, 3) uint8 array, upright."""

    pixels: np.ndarray

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


def _to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit greyscale scaled into 8 bits by its real range (clipping would make it white)."""
    if image.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return image
    _, high = image.getextrema()
    scale = 255 / high if high > 255 else 1.0
    # `point` maps "I" images linearly in place of a float64 copy of every pixel.
    return image.convert("I").point(lambda value: value * scale).convert("L")


def _to_rgb(image: Image.Image) -> Image.Image:
    image = _to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, as a viewer would show them, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def _decode(image: Image.Image, max_pixels: int, max_side: int, budget: int) -> Image.Image:
    """Decode within the budget, scaled down to `max_side`, upright and in 8-bit RGB."""
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            "image_too_large",
            f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted.",
        )
    orientation = image.getexif().get(_EXIF_ORIENTATION)
    factor = math.ceil(max(width, height) / max_side)
    if factor > 1:  # JPEG: decode at 1/2, 1/4 or 1/8 scale, no smaller than width / factor
        image.draft(None, (math.ceil(width / factor), math.ceil(height / factor)))
    if decoded_bytes(image) > budget:
        raise ImageError(
            "image_too_large",
            f"The image is {width}x{height} pixels of mode {image.mode}; decoding it would take "
            f"more than {budget // 2**20} MiB.",
        )
    # Pillow's own bomb check (DecompressionBombError) stays on as a second line.
    image.load()
    factor = math.ceil(max(image.size) / max_side)
    if factor > 1:  # a box filter, as `Image.reduce` (which refuses 16-bit modes) would
        image = image.resize((image.width // factor, image.height // factor), Image.Resampling.BOX)
    if orientation in _ORIENTATIONS:
        image = image.transpose(_ORIENTATIONS[orientation])
    return _to_rgb(image)


def load_image(
    source: bytes | str | Path,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> Photo:
    """Decode `source` (raw bytes or a path) into an upright RGB `Photo`, at most `max_side`
    pixels a side (larger photos are scaled down by a whole factor).

    Raises `ImageError` with code `empty_file`, `not_an_image`, `corrupt_image` or
    `image_too_large` (over `max_pixels`, or over `memory_budget` bytes once decoded).
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
        with _decode_slots, Image.open(stream) as image:
            rgb = _decode(image, max_pixels, max_side, memory_budget)
            return Photo(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)))
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError("not_an_image", "The file is not an image in a known format.") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError("image_too_large", "The image is too large to decode safely.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("corrupt_image", f"The image is corrupt or truncated: {exc}") from exc
