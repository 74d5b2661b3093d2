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
CROP_MARGIN = 0.08  # of the crop's long side, kept around a garment shown from a worn photo


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


Crop = tuple[float, float, float, float]


@lru_cache(maxsize=512)
def _file_thumbnail(path: str, mtime: float, crop: Crop | None) -> str:
    with Image.open(path) as image:
        if crop is None:
            image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
            return jpeg_data_url(image, THUMB_SIDE)
        image = ImageOps.exif_transpose(image)  # the crop box is in upright pixels
        return jpeg_data_url(image.crop(_with_margin(crop, image.size)), THUMB_SIDE)


def _with_margin(crop: Crop, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The garment's box plus a little of what surrounds it, inside the photo."""
    x1, y1, x2, y2 = crop
    pad = CROP_MARGIN * max(x2 - x1, y2 - y1)
    left, top = max(int(x1 - pad), 0), max(int(y1 - pad), 0)
    right, bottom = min(int(x2 + pad + 1), size[0]), min(int(y2 + pad + 1), size[1])
    if right - left < 2 or bottom - top < 2:
        return (0, 0, *size)  # a box outside the photo: show it whole
    return left, top, right, bottom


def local_thumbnail(path: str, crop: list[float] | None = None) -> str:
    """A data URL of a local product photo, or of the garment's ``crop`` box inside it (a worn
    product photo indexed by its garment); "" when it is gone or unreadable."""
    try:
        file = Path(path)
        box = tuple(float(v) for v in crop) if crop else None
        if box is not None and len(box) != 4:
            box = None
        return _file_thumbnail(str(file), file.stat().st_mtime, box)
    except (OSError, ValueError, TypeError, Image.DecompressionBombError):
        return ""


def catalog_image_source(product: Callable[[str], dict | None]) -> Callable[[dict], str]:
    """An ``image_source`` for the layout: the catalog's local copy, else its http(s) link.

    ``product`` is ``CatalogIndex.product`` (id[, shop] → row with ``image_path``). A match's
    ``crop`` is a box in that local copy, so only the local copy is cut to it; a web link shows
    whole.
    """

    def source(match: dict) -> str:
        shop = match.get("shop")  # several catalogs: the id is unique only within its shop
        row = (product(match["id"], shop) if shop else product(match["id"])) or {}
        local = row.get("image_path") or ""
        return (local_thumbnail(local, match.get("crop")) if local else "") or remote_image(match)

    return source
