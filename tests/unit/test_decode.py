"""Decoding accepts the web's image formats upright, and refuses everything else with a code."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from companion.errors import LookError
from companion.pipeline.deadline import Deadline
from companion.pipeline.decode import MAX_SCANS, MIN_SIDE, decode_image, jpeg_scans
from tests.support.bombs import scan_bomb


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def red_left_half(width: int = 120, height: int = 60) -> Image.Image:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = (255, 0, 0)
    return Image.fromarray(pixels)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_common_web_formats_decode_to_rgb(fmt):
    decoded = decode_image(encode(red_left_half(), fmt))
    assert decoded.pixels.shape == (60, 120, 3)
    assert decoded.pixels.dtype == np.uint8
    assert (decoded.width, decoded.height) == (120, 60)
    assert decoded.pixels[30, 15, 0] > 200 and decoded.pixels[30, 105, 0] < 60


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to view
    decoded = decode_image(encode(red_left_half(), "JPEG", exif=exif))
    assert (decoded.width, decoded.height) == (60, 120)
    assert decoded.pixels.shape == (120, 60, 3)
    assert decoded.pixels[15, 30, 0] > 200  # the red half is now on top


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 64), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(data).pixels[32, 32, 0] > 200


def test_transparency_becomes_white():
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    assert decode_image(encode(image, "PNG")).pixels.min() == 255


@pytest.mark.parametrize(("size", "fmt"), [((16, 16), "PNG"), ((47, 200), "JPEG"),
                                           ((640, 20), "WEBP"), ((1, 1), "GIF")],
                         ids=["icon", "narrow", "banner", "spacer"])
def test_a_picture_too_small_to_shop_is_refused_with_what_to_do(size, fmt):
    with pytest.raises(LookError) as caught:
        decode_image(encode(red_left_half(*size), fmt))
    assert (caught.value.code, caught.value.status) == ("image_too_small", 422)
    assert f"{size[0]}×{size[1]}" in caught.value.message
    assert "larger" in caught.value.message  # says what to do


@pytest.mark.parametrize("size", [(60, 80), (60, 60), (MIN_SIDE, MIN_SIDE)],
                         ids=["catalog-small", "catalog-square", "smallest-allowed"])
def test_the_catalogs_smallest_product_photos_still_decode(size):
    """The catalog's 60x80 and 60x60 photos must still work as product photos."""
    decoded = decode_image(encode(red_left_half(*size), "JPEG"))
    assert decoded.pixels.shape == (size[1], size[0], 3)


def test_large_photos_are_reduced_but_boxes_map_back():
    decoded = decode_image(encode(Image.new("RGB", (4000, 3000), (9, 9, 9)), "JPEG"))
    assert max(decoded.pixels.shape) <= 1600
    assert (decoded.width, decoded.height) == (4000, 3000)
    assert decoded.scale == pytest.approx(4000 / decoded.pixels.shape[1])


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's calling card."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)  # a few zero rows; the rest would inflate on decode
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "image_empty"),
        (b"<html>not an image</html>", "image_unreadable"),
        (b"%PDF-1.4 pretending", "image_unreadable"),
        (png_header_claiming(50_000, 50_000), "image_too_large"),
        (png_header_claiming(8_000, 8_000), "image_too_large"),
        (encode(red_left_half(), "JPEG")[:60], "image_corrupt"),
        (encode(red_left_half(), "TIFF"), "image_unreadable"),
    ],
    ids=["empty", "html", "pdf", "bomb", "64-megapixels", "truncated", "tiff"],
)
def test_bad_input_gets_a_clear_error_code(data, code):
    with pytest.raises(LookError) as caught:
        decode_image(data)
    assert caught.value.code == code
    assert caught.value.message


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return scan_bomb(12_000)


def test_a_progressive_scan_bomb_is_refused_before_decoding(bomb):
    assert len(bomb) < 1_000_000
    started = time.monotonic()
    with pytest.raises(LookError) as caught:
        decode_image(bomb)
    assert time.monotonic() - started < 1.0
    assert (caught.value.code, caught.value.status) == ("image_too_complex", 413)
    assert "scans" in caught.value.message


def test_ordinary_and_progressive_photos_are_under_the_scan_cap():
    photo = red_left_half(400, 300)
    assert jpeg_scans(encode(photo, "JPEG")) == 1
    progressive = encode(photo, "JPEG", progressive=True)
    assert jpeg_scans(progressive) == 10  # libjpeg's progressive script
    assert decode_image(progressive).pixels[150, 50, 0] > 200


def test_scans_inside_other_segments_are_not_counted():
    thumbnail = encode(red_left_half(), "JPEG", progressive=True)  # 10 scans
    photo = encode(red_left_half(400, 300), "JPEG")
    comment = b"\xff\xfe" + struct.pack(">H", len(thumbnail) + 2) + thumbnail
    with_comment = photo[:2] + comment + photo[2:]  # a JPEG inside a comment segment
    assert jpeg_scans(with_comment) == 1
    assert decode_image(with_comment).width == 400


def test_counting_stops_just_past_the_cap(bomb):
    assert jpeg_scans(bomb) == MAX_SCANS + 1


def test_a_decode_that_runs_past_its_deadline_is_abandoned():
    costly = scan_bomb(MAX_SCANS)  # allowed, but seconds to decode at 40 megapixels
    started = time.monotonic()
    with pytest.raises(LookError) as caught:
        decode_image(costly, deadline=Deadline.after(0.1))
    assert time.monotonic() - started < 1.5, "stopped within a few scans of the deadline"
    assert (caught.value.code, caught.value.status) == ("look_timeout", 503)


def test_a_deadline_far_away_changes_nothing():
    data = encode(red_left_half(), "PNG")
    timed = decode_image(data, deadline=Deadline.after(60))
    assert np.array_equal(timed.pixels, decode_image(data).pixels)
