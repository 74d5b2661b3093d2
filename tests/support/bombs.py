"""Images that are cheap to send and costly to decode, made on the spot (never stored)."""

from __future__ import annotations

import io

from PIL import Image

from companion.pipeline.decode import jpeg_scans


def scan_bomb(scans: int, side: int = 6300) -> bytes:
    """A progressive JPEG of one flat colour whose last scan is repeated until it has ``scans``:
    each copy is 61 bytes but costs the decoder a pass over all 620,000 blocks. With 12,000
    scans it is the issue's 6300×6300 file of under 1 MB (minutes to decode)."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (128, 128, 128)).save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    last_scan = data[data.rfind(b"\xff\xda"):-2]  # the last SOS to the end, less EOI
    return data[:-2] + last_scan * (scans - jpeg_scans(data)) + b"\xff\xd9"
