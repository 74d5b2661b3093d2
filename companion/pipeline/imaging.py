"""Box geometry and crops shared by the steps (the models' letterbox is in
companion.inference.preprocess)."""

from __future__ import annotations

import numpy as np

from companion.types import Box


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


def intersection(a: Box, b: Box) -> Box:
    """The overlap of two boxes (empty, with x2 < x1 or y2 < y1, when they do not meet)."""
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def iou(a: Box, b: Box) -> float:
    inter = box_area(intersection(a, b))
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def crop(pixels: np.ndarray, box: Box) -> np.ndarray:
    """The pixels inside ``box`` (clipped to the image; at least one pixel)."""
    height, width = pixels.shape[:2]
    x1, y1, x2, y2 = clip_box(box, width, height)
    x1, y1 = int(x1), int(y1)
    x2, y2 = max(round(x2), x1 + 1), max(round(y2), y1 + 1)
    return pixels[y1:y2, x1:x2]
