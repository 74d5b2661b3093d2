"""training/pixels.py: the studio backdrop is the near-white that touches the border, so a
white garment inside its outline stays garment (for the training's masks and the evaluation's
garment colours alike)."""

from __future__ import annotations

import numpy as np
import torch

from training.embedder.data import garment_masks
from training.pixels import studio_backdrop


def white_shirt_photo() -> np.ndarray:
    """A 30x20 studio photo: a white shirt (rows 5-24, columns 4-15) inside a grey outline."""
    photo = np.full((30, 20, 3), 255, np.uint8)
    photo[5:25, 4:16] = (120, 120, 120)  # the outline ...
    photo[6:24, 5:15] = (250, 250, 250)  # ... around a white shirt
    return photo


def test_the_backdrop_is_the_white_that_touches_the_border_not_a_white_garment():
    backdrop = studio_backdrop(white_shirt_photo())
    assert backdrop[0, 0] and backdrop[29, 19] and backdrop[15, 1]
    assert not backdrop[6:24, 5:15].any(), "the white shirt inside its outline is garment"
    assert not backdrop[5, 4], "the outline is garment"
    assert backdrop.sum() == 30 * 20 - 20 * 12


def test_white_reaching_the_border_only_corner_to_corner_is_not_backdrop():
    photo = np.zeros((5, 5, 3), np.uint8)
    photo[0, 0] = photo[1, 1] = 255  # (1, 1) touches the white corner diagonally only
    backdrop = studio_backdrop(photo)
    assert backdrop[0, 0] and not backdrop[1, 1]


def test_a_photo_without_studio_white_has_no_backdrop():
    assert not studio_backdrop(np.full((8, 8, 3), 200, np.uint8)).any()


def test_the_training_masks_keep_a_white_garment():
    mask = garment_masks(torch.from_numpy(white_shirt_photo()[None]))[0, 0]
    assert (mask[7:23, 6:14] == 1).all() and (mask[:3] == 0).all()


def test_any_image_file_is_read_as_rgb_pixels(tmp_path):
    """Palette, greyscale and transparent files all come back as H×W×3 uint8 RGB."""
    from PIL import Image

    from training.pixels import read_rgb

    for mode, colour in (("P", 3), ("L", 128), ("RGBA", (10, 20, 30, 0))):
        path = tmp_path / f"{mode}.png"
        Image.new(mode, (5, 4), colour).save(path)
        pixels = read_rgb(path)
        assert (pixels.shape, pixels.dtype) == ((4, 5, 3), np.uint8), mode
    assert read_rgb(tmp_path / "RGBA.png")[0, 0].tolist() == [10, 20, 30]
