"""Pixels for training code: the letterbox the embedder is trained at, and which pixels of a studio
product photo are the backdrop (and so which are the garment).

The letterbox is the runtime's own (companion.inference.preprocess.letterbox, centred on white as
the embedder's manifest asks): training must see a product exactly as a look will show it.

Catalog photos show the garment on studio white. The backdrop is the near-white region that
touches the photo's border (4-connected), not every near-white pixel: a white garment, or a
white print on one, is separated from the backdrop by its outline and stays garment. Plain
numpy, so the evaluation runs in the runtime's environment as well as the training's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from companion.inference import preprocess

FILL = 255  # letterbox fill, white like the studio photos; the manifest tells the runtime
STUDIO_WHITE = 238  # a pixel whose darkest channel is at least this is near-white


def read_rgb(path: Path | str) -> np.ndarray:
    """[H,W,3] uint8 RGB pixels of an image file (any mode: palette, greyscale, RGBA), the file
    closed again. The file's own pixels, which the data's boxes are measured in: not the look's
    ``decode_image``, which turns a photo upright by its EXIF tag, shrinks one over 1600 px and
    puts transparency on white."""
    with Image.open(path) as opened:
        return np.asarray(opened.convert("RGB"))


def studio_backdrop(image: np.ndarray, threshold: int = STUDIO_WHITE) -> np.ndarray:
    """[H,W] bool: near-white pixels of an RGB image connected to its border."""
    white = image.min(axis=2) >= threshold
    reached = np.zeros_like(white)
    for edge in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        reached[edge] = white[edge]
    while True:  # grow from the border through white pixels until nothing changes
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= white
        if np.array_equal(grown, reached):
            return reached
        reached = grown


def studio_garment(image: np.ndarray, closing: int = 1) -> np.ndarray:
    """[H,W] bool: everything but the backdrop, gaps in its outline up to ``closing`` pixels
    closed (scipy, imported here: training code only)."""
    from scipy import ndimage

    return ndimage.binary_closing(~studio_backdrop(image), iterations=closing)


def letterbox(img: Image.Image, size: int, fill: int = FILL) -> np.ndarray:
    """The image fitted into a size x size square, centred on `fill`: the runtime's letterbox."""
    return preprocess.letterbox(np.asarray(img.convert("RGB")), size, fill, centre=True)[0]
