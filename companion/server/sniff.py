"""A cheap look at the first bytes, so obvious non-images are refused before any decoding."""

from __future__ import annotations

SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def looks_like_image(data: bytes) -> bool:
    """True for JPEG, PNG, GIF and WebP headers: the formats the pipeline decodes."""
    if data.startswith(SIGNATURES):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
