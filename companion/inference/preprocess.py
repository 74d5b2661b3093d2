"""Pixels into a model's input: the one letterbox, and the tensor format a manifest describes.

Why one letterbox: every network is fed a picture scaled to fit its input, and each was trained
with its own placement (MoveNet, BlazeFace and CenterNet top-left on black; the garment detector
and the body model centred on grey 114; the embedder centred on its manifest's fill). One function
with those choices as arguments keeps the scale, the rounding and the way back to the original
pixels the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from companion.inference.manifest import TensorSpec


@dataclass(frozen=True)
class Placement:
    """Where an image sits in a letterboxed input: ``input = original * scale + (pad_x, pad_y)``."""

    scale: float
    pad_x: float = 0.0
    pad_y: float = 0.0

    def to_original(self, boxes: np.ndarray, clip_to: tuple[int, int] | None = None) -> np.ndarray:
        """x1, y1, x2, y2 rows of the input mapped back to the original image (float32); clipped
        to ``clip_to`` (width, height) when given."""
        out = boxes.astype(np.float32)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        if clip_to is not None:
            out[:, [0, 2]] = out[:, [0, 2]].clip(0, clip_to[0])
            out[:, [1, 3]] = out[:, [1, 3]].clip(0, clip_to[1])
        return out


def letterbox(
    pixels: np.ndarray, size: int | tuple[int, int], fill: int | tuple[int, ...] = 0,
    centre: bool = False,
) -> tuple[np.ndarray, Placement]:
    """An H×W×3 uint8 image scaled to fit ``size`` (a square side, or width × height), keeping its
    aspect ratio, on a canvas of ``fill``: in the top-left corner, or centred.

    Returns the canvas and the placement that maps its coordinates back to ``pixels``.
    """
    height, width = pixels.shape[:2]
    out_w, out_h = (size, size) if isinstance(size, int) else size
    scale = min(out_w / width, out_h / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = Image.fromarray(pixels).resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = ((out_w - new_w) // 2, (out_h - new_h) // 2) if centre else (0, 0)
    canvas = np.full((out_h, out_w, 3), fill, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = np.asarray(resized)
    return canvas, Placement(scale, float(left), float(top))


def to_model_input(batch: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """uint8 RGB images (N×H×W×3) → the tensor the manifest describes: dtype, range, layout.

    Every model gets its input through here, so a manifest that states the wrong range is
    caught by the tests instead of silently producing constant outputs.
    """
    # One pass over the pixels per step, and the transpose on bytes: a look runs this for every
    # model, and the earlier float copies cost about a sixth of the embedder's time.
    channels_first = spec.layout == "NCHW"
    pixels = batch.transpose(0, 3, 1, 2) if channels_first else batch
    values = np.empty(pixels.shape, np.float32)
    np.divide(pixels, np.float32(255), out=values)
    per_channel = (-1, 1, 1) if channels_first else (-1,)
    if spec.mean is not None and spec.std is not None:
        values -= np.reshape(np.array(spec.mean, np.float32), per_channel)
        values /= np.reshape(np.array(spec.std, np.float32), per_channel)
    elif spec.value_range is not None and tuple(spec.value_range) != (0.0, 1.0):
        low, high = spec.value_range
        values *= np.float32(high - low)
        values += np.float32(low)
    if spec.dtype.startswith("int"):
        np.rint(values, out=values)
    return values if spec.dtype == "float32" else values.astype(spec.dtype)
