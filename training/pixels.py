"""Pixels for training code: the letterbox the models are trained at, and which pixels of a studio
product photo are the backdrop (and so which are the garment).

Shared with nothing at runtime: the companion letterboxes in companion/inference/preprocess.py.
Where training must prepare pixels exactly as the runtime does (the body-gender crops), it calls
the runtime's own function instead.

Catalog photos show the garment on studio white. The backdrop is the near-white region that
touches the photo's border (4-connected), not every near-white pixel: a white garment, or a
white print on one, is separated from the backdrop by its outline and stays garment. Plain
numpy and Pillow, so the evaluation runs in the runtime's environment as well as the training's.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FILL = 255  # letterbox fill, white like the studio photos; the runtime uses the same
STUDIO_WHITE = 238  # a pixel whose darkest channel is at least this is near-white


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


def letterbox(img: Image.Image, size: int, fill: int = FILL) -> np.ndarray:
    """Fit the image into a size x size square, keeping its aspect ratio (as the runtime does)."""
    img = img.convert("RGB")
    scale = size / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    canvas = Image.new("RGB", (size, size), (fill, fill, fill))
    canvas.paste(img.resize((w, h), Image.BILINEAR), ((size - w) // 2, (size - h) // 2))
    return np.asarray(canvas)
