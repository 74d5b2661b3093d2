"""From raw outputs to answers: the one non-maximum suppression and the one gender decision."""

from __future__ import annotations

import numpy as np

from companion.types import Gender


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, labels: np.ndarray | None = None
) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first.

    A box is dropped when its IoU with a better kept box reaches ``iou_threshold``. With
    ``labels``, boxes only suppress boxes of their own label (a bag over a jacket must not
    suppress the jacket).
    """
    if labels is not None:
        if boxes.size == 0:
            return np.zeros(0, dtype=np.int64)
        # Shift each label's boxes far apart so one pass never compares different labels.
        boxes = boxes + labels[:, None].astype(np.float32) * (float(boxes.max()) + 1.0)
    order = np.argsort(-scores, kind="stable")
    widths = np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
    areas = widths * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        union = areas[best] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[overlap < iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def to_gender(p_male: float, min_confidence: float) -> Gender:
    """A label with its confidence; "unknown" when the model is less sure than min_confidence."""
    label = "male" if p_male >= 0.5 else "female"
    confidence = p_male if label == "male" else 1.0 - p_male
    return Gender(label if confidence >= min_confidence else "unknown", round(confidence, 4))
