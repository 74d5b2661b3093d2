"""Small pixel helpers shared by the steps: letterboxing, cropping, box geometry."""

from __future__ import annotations

import numpy as np
from PIL import Image

from companion.inference.manifest import TensorSpec
from companion.pipeline.types import Box


def _fit(pixels: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Resize so the longer side is ``size``; returns the pixels and the scale applied."""
    height, width = pixels.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = Image.fromarray(pixels).resize((new_w, new_h), Image.Resampling.BILINEAR)
    return np.asarray(resized), scale


def letterbox(
    pixels: np.ndarray, size: int, fill: tuple[int, int, int] = (0, 0, 0)
) -> tuple[np.ndarray, float]:
    """Resize to fit a size×size square (top-left aligned); returns the square and its scale.

    A point (x, y) of the square maps back to (x / scale, y / scale) in ``pixels``.
    """
    resized, scale = _fit(pixels, size)
    canvas = np.empty((size, size, 3), dtype=np.uint8)
    canvas[:] = fill
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas, scale


def letterbox_centered(
    pixels: np.ndarray, size: int, fill: tuple[int, int, int] = (255, 255, 255)
) -> np.ndarray:
    """Resize to fit a size×size square, centred: how catalog photos and crops are embedded."""
    resized, _ = _fit(pixels, size)
    canvas = np.empty((size, size, 3), dtype=np.uint8)
    canvas[:] = fill
    top, left = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


def clip_box(box: Box, width: int, height: int) -> Box:
    x1, y1, x2, y2 = box
    return (
        float(min(max(x1, 0), width)),
        float(min(max(y1, 0), height)),
        float(min(max(x2, 0), width)),
        float(min(max(y2, 0), height)),
    )


def box_area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def iou(a: Box, b: Box) -> float:
    inter = box_area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def crop(pixels: np.ndarray, box: Box) -> np.ndarray:
    """The pixels inside ``box`` (clipped to the image; at least one pixel)."""
    height, width = pixels.shape[:2]
    x1, y1, x2, y2 = clip_box(box, width, height)
    x1, y1 = int(x1), int(y1)
    x2, y2 = max(round(x2), x1 + 1), max(round(y2), y1 + 1)
    return pixels[y1:y2, x1:x2]


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    order = list(np.argsort(-scores))
    keep: list[int] = []
    while order:
        best = order.pop(0)
        keep.append(int(best))
        order = [i for i in order if iou(tuple(boxes[best]), tuple(boxes[i])) < threshold]
    return keep


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
