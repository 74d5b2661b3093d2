"""The one letterbox and the manifest's tensor format, as each network is fed.

Each network was trained with its own placement: MoveNet, BlazeFace and CenterNet top-left on
black, the garment detector and the body model centred on grey 114 (the body model in a tall
128×256), the embedder centred on its manifest's white. The scale, the rounding and the way back
to the original's pixels must be the same for all of them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from companion.inference.manifest import TensorSpec
from companion.inference.preprocess import Placement, letterbox, to_model_input


def test_top_left_on_black_scales_the_longer_side_to_the_square():
    pixels = np.full((100, 50, 3), 200, dtype=np.uint8)
    square, placement = letterbox(pixels, 256)
    assert square.shape == (256, 256, 3)
    assert placement == Placement(2.56, 0.0, 0.0)
    assert (square[:, :128] == 200).all()  # 50 × 2.56 = 128 columns of image, from the left
    assert (square[:, 128:] == 0).all()


def test_centred_on_grey_pads_both_sides_equally():
    pixels = np.full((640, 420, 3), 200, dtype=np.uint8)
    square, placement = letterbox(pixels, 320, fill=114, centre=True)
    assert placement.scale == pytest.approx(0.5)
    assert (placement.pad_x, placement.pad_y) == ((320 - 210) // 2, 0)
    pad = int(placement.pad_x)
    assert (square[:, :pad] == 114).all() and (square[:, -pad:] == 114).all()
    assert (square[:, pad : pad + 210] == 200).all()


def test_a_width_by_height_target_fits_a_tall_crop_between_bars():
    """The body model's 128×256: a 50×200 crop becomes 64×256 in the middle."""
    crop = np.full((200, 50, 3), 255, dtype=np.uint8)
    canvas, placement = letterbox(crop, (128, 256), fill=114, centre=True)
    assert canvas.shape == (256, 128, 3)
    assert placement == Placement(1.28, 32.0, 0.0)
    row = canvas[128]
    assert (row[:32] == 114).all() and (row[32:96] == 255).all() and (row[96:] == 114).all()


def test_a_fill_of_three_channels_is_used_as_is():
    canvas, _ = letterbox(np.zeros((10, 20, 3), np.uint8), 40, fill=(255, 250, 245), centre=True)
    assert canvas[0, 0].tolist() == [255, 250, 245]


def test_a_sliver_keeps_at_least_one_pixel():
    canvas, placement = letterbox(np.full((1, 1000, 3), 9, np.uint8), 100)
    assert placement.scale == pytest.approx(0.1)
    assert (canvas[0] == 9).all() and (canvas[1:] == 0).all()


def test_boxes_map_back_to_the_original_pixels():
    pixels = np.zeros((300, 600, 3), dtype=np.uint8)  # landscape: padded above and below
    _, placement = letterbox(pixels, 320, centre=True)
    original = np.array([[60.0, 30.0, 300.0, 270.0]])
    in_square = original * placement.scale + [placement.pad_x, placement.pad_y] * 2
    back = placement.to_original(in_square, clip_to=(600, 300))
    np.testing.assert_allclose(back, original, atol=1e-3)
    assert back.dtype == np.float32


def test_boxes_outside_the_image_are_clipped_only_when_asked():
    placement = Placement(scale=1.0, pad_x=10.0, pad_y=0.0)
    boxes = np.array([[0.0, -5.0, 500.0, 50.0]])
    np.testing.assert_allclose(placement.to_original(boxes, clip_to=(100, 40)),
                               [[0.0, 0.0, 100.0, 40.0]])
    np.testing.assert_allclose(placement.to_original(boxes), [[-10.0, -5.0, 490.0, 50.0]])


def test_model_input_follows_the_manifest_range_layout_normalisation_and_dtype():
    pixels = np.zeros((2, 4, 5, 3), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 255, 51, 0  # red, a fifth green, no blue
    spec = TensorSpec("x", [2, 3, 4, 5], "float32", layout="NCHW", value_range=(0, 1))
    tensor = to_model_input(pixels, spec)
    assert tensor.shape == (2, 3, 4, 5) and tensor.dtype == np.float32
    assert tensor.flags.c_contiguous  # what ONNX Runtime takes without a copy
    assert np.allclose(tensor[:, :, 0, 0], [1.0, 0.2, 0.0])

    signed = dataclasses.replace(spec, layout="NHWC", value_range=(-1, 1))
    assert np.allclose(to_model_input(pixels, signed)[0, 0, 0], [1.0, -0.6, -1.0])

    normalised = dataclasses.replace(spec, value_range=None, mean=(0.5, 0.2, 0.0),
                                     std=(0.5, 0.1, 1.0))
    assert np.allclose(to_model_input(pixels, normalised)[0, :, 0, 0], [1.0, 0.0, 0.0])

    raw = dataclasses.replace(spec, layout="NHWC", dtype="int32", value_range=(0, 255))
    as_int = to_model_input(pixels, raw)
    assert as_int.dtype == np.int32 and as_int[0, 0, 0].tolist() == [255, 51, 0]
