"""Image bytes → upright RGB pixels, refusing what could hurt us (bombs, odd formats)."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from companion.errors import ErrorCode, LookError
from companion.types import DecodedImage

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is fine; a decompression bomb is not
WORKING_SIDE = 1600  # the models never need more; big JPEGs are decoded at reduced size


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Decode JPEG/PNG/WebP/GIF (first frame), apply EXIF orientation, composite alpha on white."""
    if not data:
        raise LookError(ErrorCode.IMAGE_EMPTY, "The image is empty. Try another image.", 400)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise LookError(
                    ErrorCode.IMAGE_TOO_LARGE,
                    f"The image is {width}×{height} pixels; the limit is "
                    f"{max_pixels // 1_000_000} megapixels. Try a smaller copy.",
                    413,
                )
            upright_size = _upright_size(image)
            if image.format == "JPEG":
                image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image)
    except LookError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LookError(
            ErrorCode.IMAGE_TOO_LARGE,
            f"The image claims more than {max_pixels // 1_000_000} megapixels. Try a smaller copy.",
            413,
        ) from None
    except UnidentifiedImageError:
        raise LookError(
            ErrorCode.IMAGE_UNREADABLE,
            "This is not an image we can read (JPEG, PNG, WebP or GIF). Try another image.",
            415,
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise LookError(
            ErrorCode.IMAGE_CORRUPT, f"The image file is damaged ({exc}). Try another copy.", 400
        ) from None
    if max(image.size) > WORKING_SIDE:
        image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8)
    scale = upright_size[0] / pixels.shape[1]
    return DecodedImage(pixels=pixels, width=upright_size[0], height=upright_size[1], scale=scale)


def _upright_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
