"""Image bytes → upright RGB pixels, refusing what could hurt us (bombs, odd formats)."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from companion.errors import ErrorCode, LookError
from companion.pipeline.deadline import Deadline
from companion.types import DecodedImage

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is fine; a decompression bomb is not
WORKING_SIDE = 1600  # the models never need more; big JPEGs are decoded at reduced size
# The shortest side a picture may have. The catalog's smallest photos (60x80, 60x60) must still
# work as product photos; icons, thumbnails and spacers must not be "matched". Measured on 150
# catalog query photos (168x224) shrunk to a short side of N px: the embedder still finds the same
# product among the full-size photos for 100 % at 60, 99.3 % at 48, 93 % at 32, 87 % at 24 and
# 70 % at 16 px. Below 48 a picture is an icon more often than a product, and a person in it is
# far too small for garments (the models see people at 256 px).
MIN_SIDE = 48
# Each progressive scan is a pass over every block of the image, however few bytes it takes, so
# a 1 MB file of 12,000 tiny scans costs minutes to decode. Photos have 1 scan (all 12,335 JPEGs
# of the shared data are baseline) or about 10 (libjpeg's progressive script; 7 to 10 in the
# progressive JPEGs found on a developer machine); 64 leaves room for any encoder's script and
# costs at most about 3 s at 40 megapixels.
MAX_SCANS = 64
# Progressive JPEGs are fed to the decoder this many bytes at a time (Pillow's default is 64 KiB,
# a thousand tiny scans), so a deadline is checked every few scans and decoding can be abandoned.
PROGRESSIVE_BLOCK = 512
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")  # ends a scan's data: not a stuffed 0, not RSTn


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS,
                 deadline: Deadline | None = None, min_side: int = MIN_SIDE) -> DecodedImage:
    """Decode JPEG/PNG/WebP/GIF (first frame), apply EXIF orientation, composite alpha on white.

    A picture under ``min_side`` pixels on its short side is refused with ``image_too_small``
    before its pixels are decoded.

    ``deadline`` is checked each time the decoder asks for more bytes: a decode that runs past
    it is abandoned with ``look_timeout``.
    """
    if not data:
        raise LookError(ErrorCode.IMAGE_EMPTY, "The image is empty. Try another image.", 400)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = io.BytesIO(data) if deadline is None else _TimedReader(data, deadline)
            image = Image.open(source, formats=ALLOWED_FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise LookError(
                    ErrorCode.IMAGE_TOO_LARGE,
                    f"The image is {width}×{height} pixels; the limit is "
                    f"{max_pixels // 1_000_000} megapixels. Try a smaller copy.",
                    413,
                )
            _refuse_too_small(width, height, min_side)
            upright_size = _upright_size(image)
            if image.format == "JPEG":
                _refuse_scan_bombs(data)
                image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))
                if image.info.get("progressive"):
                    image.decodermaxblock = PROGRESSIVE_BLOCK
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


def jpeg_scans(data: bytes, stop_after: int = MAX_SCANS) -> int:
    """How many scans (SOS segments) a JPEG has, counted as the decoder walks it: segment by
    segment, each scan's data up to the next marker (an EXIF thumbnail's scans are not counted).
    Stops counting past ``stop_after``; milliseconds even for a 20 MB file."""
    position, scans = 2, 0  # after SOI
    while position + 4 <= len(data) and scans <= stop_after:
        if data[position] != 0xFF:  # bytes between segments: the decoder skips to the next one
            found = _MARKER.search(data, position)
            if found is None:
                break
            position = found.start()
            continue
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == 0xD9:  # EOI
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
        if marker == 0xDA:  # SOS: its entropy-coded data runs to the next marker
            scans += 1
            found = _MARKER.search(data, position)
            if found is None:
                break
            position = found.start()
    return scans


def _refuse_too_small(width: int, height: int, min_side: int) -> None:
    if min(width, height) < min_side:
        raise LookError(
            ErrorCode.IMAGE_TOO_SMALL,
            f"The image is {width}×{height} pixels, too small to find clothes in (at least "
            f"{min_side} pixels on each side). Open the photo at full size, or choose a larger "
            "one of the same look.",
            422,
        )


def _refuse_scan_bombs(data: bytes) -> None:
    if jpeg_scans(data) > MAX_SCANS:
        raise LookError(
            ErrorCode.IMAGE_TOO_COMPLEX,
            f"The JPEG has more than {MAX_SCANS} progressive scans (photos have about 10), so "
            "decoding it would take minutes. Save it again as an ordinary JPEG, or try another "
            "image.",
            413,
        )


class _TimedReader(io.BytesIO):
    """The image's bytes for Pillow, which reads them block by block while it decodes: each
    read checks the deadline, so a decode that runs too long stops at the next block."""

    def __init__(self, data: bytes, deadline: Deadline) -> None:
        super().__init__(data)
        self._deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        self._deadline.check("decode")
        return super().read(size)


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
