"""A studio shot is told apart from a street photo by its plain backdrop."""

from __future__ import annotations

import numpy as np

from companion.pipeline.studio import NEAR, STUDIO_SHARE, backdrop_share, is_studio_shot


def a_product_on(backdrop: tuple[int, int, int], noise: int = 0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pixels = np.empty((224, 168, 3), np.int16)
    pixels[:] = backdrop
    pixels += rng.integers(-noise, noise + 1, pixels.shape, dtype=np.int16) if noise else 0
    pixels[40:200, 30:140] = rng.integers(0, 256, (160, 110, 3))  # the product, any colours
    return np.clip(pixels, 0, 255).astype(np.uint8)


def test_a_product_on_white_or_grey_is_a_studio_shot():
    assert is_studio_shot(a_product_on((255, 255, 255)))
    assert is_studio_shot(a_product_on((200, 200, 205), noise=8))  # a grey sweep, JPEG noise


def test_a_busy_scene_is_not():
    scene = np.random.default_rng(1).integers(0, 256, (480, 320, 3), dtype=np.uint8)
    assert backdrop_share(scene) < 0.1
    assert not is_studio_shot(scene)


def test_a_frame_pixel_is_backdrop_only_when_every_channel_is_near_the_backdrops():
    pixels = a_product_on((200, 200, 200))
    pixels[:, :8] = (200, 200, 200 + NEAR + 1)  # a blue stripe down the left edge: one channel off
    off_in_one_channel = backdrop_share(pixels)
    pixels[:, :8] = (200 + NEAR, 200 - NEAR, 200 + NEAR)  # each channel just within reach
    assert off_in_one_channel < backdrop_share(pixels) == 1.0


def test_a_product_that_reaches_the_frame_on_two_sides_is_still_a_studio_shot():
    pixels = a_product_on((255, 255, 255))
    pixels[:, 60:100] = 30  # trousers cut by the top and bottom edges of the photo
    share = backdrop_share(pixels)
    assert STUDIO_SHARE <= share < 1.0


def test_a_studio_shots_product_keeps_its_box_when_the_outfit_rules_named_it_by_its_rival():
    # A kurta the detector also called a dress: the rules kept the dress; the photo sells a top.
    from companion.pipeline.look import _renamed_rivals
    from companion.types import Garment

    dress = Garment("dress", (10.0, 20.0, 40.0, 75.0), 0, 0.6)
    shoes = Garment("footwear", (10.0, 70.0, 40.0, 80.0), 0, 0.8)
    someone_elses = Garment("dress", (50.0, 20.0, 60.0, 75.0), 1, 0.5)
    renamed = _renamed_rivals([dress, shoes, someone_elses], "topwear")
    assert [g.category for g in renamed] == ["topwear", "footwear", "dress"]
    assert renamed[0].box == dress.box
    assert _renamed_rivals([dress, shoes], "bag") == [dress, shoes]  # bags have no rival
