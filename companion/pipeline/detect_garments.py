"""Garment boxes from the trained detector (``models/garment-detector``), without ultralytics.

Why our own pre- and post-processing: the detector was trained with ultralytics, which is
AGPL-3.0, so the companion only runs the exported ONNX graph and does the letterbox, the decoding
of its ``[1, 4+C, N]`` output and the non-maximum suppression in numpy here. The letterbox must
match training exactly (scaled to fit, centred, grey 114 padding) or the boxes drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from companion.inference.store import ModelStore
from companion.pipeline.types import Box, Garment

MODEL = "garment-detector"


@dataclass(frozen=True)
class Letterbox:
    """How an image was placed in the model's square: ``square = original * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float

    def to_original(self, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """Map x1, y1, x2, y2 boxes from the square back to the original, clipped to it."""
        out = boxes.astype(np.float32).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
        return out


def letterbox(pixels: np.ndarray, size: int, fill: int = 114) -> tuple[np.ndarray, Letterbox]:
    """Fit an H×W×3 image into a size×size square, centred, padded with ``fill``."""
    height, width = pixels.shape[:2]
    scale = min(size / height, size / width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = Image.fromarray(pixels).resize((new_w, new_h), Image.Resampling.BILINEAR)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    square = np.full((size, size, 3), fill, dtype=np.uint8)
    square[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = np.asarray(resized)
    return square, Letterbox(scale, float(pad_x), float(pad_y))


def decode(raw: np.ndarray, score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLO head output ``[4+C, N]`` (cx, cy, w, h, C scores) -> xyxy boxes, scores, labels."""
    candidates = raw.T  # N × (4+C)
    class_scores = candidates[:, 4:]
    labels = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(labels)), labels]
    keep = scores >= score_threshold
    cx, cy, w, h = candidates[keep, :4].T
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes.astype(np.float32), scores[keep].astype(np.float32), labels[keep]


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; indices of the kept boxes, best score first."""
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


def nms_per_label(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """NMS within each label only: a bag over a jacket must not suppress the jacket."""
    if boxes.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Shift each label's boxes far apart so one NMS pass never compares different labels.
    offset = labels[:, None].astype(np.float32) * (float(boxes.max()) + 1.0)
    keep = nms(boxes + offset, scores, iou_threshold)
    return keep


class GarmentDetector:
    """The detector with its manifest's settings; ``detect(pixels)`` gives Garment boxes."""

    def __init__(self, store: ModelStore, name: str = MODEL) -> None:
        self.model = store.get(name)
        manifest = self.model.manifest
        self.labels = manifest.labels
        self.size = int(manifest.input.shape[2])
        extra = manifest.extra
        self.score_threshold = float(extra.get("score_threshold", 0.25))
        self.iou_threshold = float(extra.get("iou_threshold", 0.5))
        self.pad_value = int(extra.get("pad_value", 114))
        self.max_per_label = dict(extra.get("max_per_label", {}))

    def detect(self, pixels: np.ndarray, score_threshold: float | None = None) -> list[Garment]:
        """Garments in an H×W×3 RGB uint8 image, boxes in its pixels, best score first."""
        height, width = pixels.shape[:2]
        square, placement = letterbox(pixels, self.size, self.pad_value)
        tensor = (square.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        raw = next(iter(self.model.run({self.model.manifest.input.name: tensor}).values()))[0]
        threshold = self.score_threshold if score_threshold is None else score_threshold
        boxes, scores, labels = decode(raw, threshold)
        keep = nms_per_label(boxes, scores, labels, self.iou_threshold)
        boxes = placement.to_original(boxes[keep], width, height)
        scores, labels = scores[keep], labels[keep]
        garments: list[Garment] = []
        counts: dict[str, int] = {}
        for box, score, label in zip(boxes, scores, labels, strict=True):
            category = self.labels[int(label)]
            counts[category] = counts.get(category, 0) + 1
            if counts[category] > int(self.max_per_label.get(category, 10**6)):
                continue
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            garments.append(Garment(category, _as_box(box), None, round(float(score), 4)))
        return garments


def assign_to_people(garments: list[Garment], people_boxes: list[Box]) -> list[Garment]:
    """Give each garment the person whose box holds most of it (None when none holds half)."""
    assigned = []
    for garment in garments:
        best, best_share = None, 0.5
        gx1, gy1, gx2, gy2 = garment.box
        area = max(gx2 - gx1, 0.0) * max(gy2 - gy1, 0.0)
        for index, (px1, py1, px2, py2) in enumerate(people_boxes):
            inter = (max(min(gx2, px2) - max(gx1, px1), 0.0)
                     * max(min(gy2, py2) - max(gy1, py1), 0.0))
            share = inter / area if area > 0 else 0.0
            if share > best_share:
                best, best_share = index, share
        assigned.append(Garment(garment.category, garment.box, best, garment.score))
    return assigned


def _as_box(values: np.ndarray) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def detect_for_people(
    detector: GarmentDetector, pixels: np.ndarray, people_boxes: list[Box], margin: float = 0.15
) -> list[Garment]:
    """Garments of each person, found in that person's crop.

    Why per person: the detector learned from photos of one centred, full-body person. In a group
    photo each person is small in the whole picture, but their own crop looks like training data,
    and every garment found there belongs to that person.
    """
    height, width = pixels.shape[:2]
    garments: list[Garment] = []
    for index, (x1, y1, x2, y2) in enumerate(people_boxes):
        dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
        left, top = int(max(0.0, x1 - dx)), int(max(0.0, y1 - dy))
        right, bottom = int(min(float(width), x2 + dx)), int(min(float(height), y2 + dy))
        if right - left < 8 or bottom - top < 8:
            continue
        for g in detector.detect(pixels[top:bottom, left:right]):
            bx1, by1, bx2, by2 = g.box
            box = (bx1 + left, by1 + top, bx2 + left, by2 + top)
            garments.append(Garment(g.category, box, index, g.score))
    return garments
