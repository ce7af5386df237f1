"""Decoding uploaded or on-disk photos into RGB arrays, safely.

Every entry point of Rollcall (CLI, REST, import) goes through `load_image`, so one place decides
what an acceptable photo is: any format Pillow reads, EXIF orientation applied (phones store
portrait shots sideways), every mode (RGBA, LA, P, L, I;16, CMYK...) flattened to 8-bit RGB, and
a hard cap on pixel count so a decompression bomb is refused before it is decoded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 50_000_000  # a 50 MP photo is far above any phone; a bomb is far above that


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


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale the real range into 8 bits instead of clipping to white.
        array = np.asarray(image, dtype=np.float64)
        top = array.max() if array.size else 0.0
        scale = 255.0 / top if top > 255 else 1.0
        image = Image.fromarray(np.clip(array * scale, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, as a viewer would show them, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def load_image(source: bytes | str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode `source` (raw bytes or a path) into an upright RGB `Photo`.

    Raises `ImageError` with code `empty_file`, `not_an_image`, `corrupt_image` or
    `image_too_large`.
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
        with Image.open(stream) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    "image_too_large",
                    f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels "
                    "are accepted.",
                )
            # The pixel count was checked above, before decoding; Pillow's own bomb check
            # (DecompressionBombError) stays on as a second line.
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            rgb = _to_rgb(upright)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError("not_an_image", "The file is not an image in a known format.") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError("image_too_large", "The image is too large to decode safely.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("corrupt_image", f"The image is corrupt or truncated: {exc}") from exc
    return Photo(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)))
