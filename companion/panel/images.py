"""Images for the page as data URLs, made in memory.

The page is a local file and must load nothing from the network but product images, so local
product photos are handed over as small JPEG data URLs. The user's photo is only ever held in
memory: it is re-encoded here and never written to disk.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageOps

from companion.panel.layout import remote_image

THUMB_SIDE = 360  # px, long side of a card image: crisp on a 2× screen at the card's size
PHOTO_SIDE = 1600  # px, long side of the photo shown in the panel
MAX_PHOTO_PIXELS = 64_000_000  # the pipeline already refused bigger images; never decode more


def jpeg_data_url(image: Image.Image, side: int, quality: int = 85) -> str:
    image = ImageOps.exif_transpose(image)
    image.thumbnail((side, side))
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = background
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def photo_data_url(data: bytes | None) -> str:
    """The user's photo, upright and scaled for display; "" when it cannot be decoded."""
    if not data:
        return ""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PHOTO_PIXELS:
                return ""
            image.draft("RGB", (PHOTO_SIDE, PHOTO_SIDE))
            return jpeg_data_url(image, PHOTO_SIDE, quality=88)
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""


@lru_cache(maxsize=512)
def _file_thumbnail(path: str, mtime: float) -> str:
    with Image.open(path) as image:
        image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
        return jpeg_data_url(image, THUMB_SIDE)


def local_thumbnail(path: str) -> str:
    """A data URL of a local product photo, or "" when it is gone or unreadable."""
    try:
        file = Path(path)
        return _file_thumbnail(str(file), file.stat().st_mtime)
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""


def catalog_image_source(product: Callable[[str], dict | None]) -> Callable[[dict], str]:
    """An ``image_source`` for the layout: the catalog's local copy, else its http(s) link.

    ``product`` is ``CatalogIndex.product`` (id → row with ``image_path``).
    """

    def source(match: dict) -> str:
        row = product(match["id"]) or {}
        local = row.get("image_path") or ""
        return (local_thumbnail(local) if local else "") or remote_image(match)

    return source
