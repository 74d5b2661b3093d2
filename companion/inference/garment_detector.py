"""Garment boxes from the trained detector (``models/garment-detector``), without ultralytics.

Why our own pre- and post-processing: the detector was trained with ultralytics, which is
AGPL-3.0, so the companion only runs the exported ONNX graph and does the letterbox, the decoding
of its ``[1, 4+C, N]`` output and the non-maximum suppression in numpy here. The letterbox must
match training exactly (scaled to fit, centred, grey 114 padding) or the boxes drift.
"""

from __future__ import annotations

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.postprocess import nms
from companion.inference.preprocess import letterbox
from companion.types import Box, Garment

INPUT_SIDE = 320
SCORE_THRESHOLD = 0.25
IOU_THRESHOLD = 0.5
PAD_VALUE = 114


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


class GarmentDetector(InferenceModel):
    """Topwear, bottomwear, footwear, dresses and bags, with the manifest's thresholds."""

    model_name = "garment-detector"

    @property
    def labels(self) -> list[str]:
        return self.settings.labels

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the model's input."""
        return self.settings.size(INPUT_SIDE)

    @property
    def score_threshold(self) -> float:
        return self.settings.number("score_threshold", SCORE_THRESHOLD)

    @property
    def iou_threshold(self) -> float:
        return self.settings.number("iou_threshold", IOU_THRESHOLD)

    def _predict(self, pixels: np.ndarray, score_threshold: float | None = None) -> list[Garment]:
        """Garments in an H×W×3 RGB uint8 image, boxes in its pixels, best score first.

        At most ``extra.max_per_label`` of each label (by score); no person assigned yet.
        """
        height, width = pixels.shape[:2]
        fill = int(self.settings.number("pad_value", PAD_VALUE))
        square, placement = letterbox(pixels, self.size, fill, centre=True)
        raw = self._output(self._input(square[None]))[0]
        threshold = self.score_threshold if score_threshold is None else score_threshold
        boxes, scores, labels = decode(raw, threshold)
        keep = nms(boxes, scores, self.iou_threshold, labels=labels)
        boxes = placement.to_original(boxes[keep], clip_to=(width, height))
        scores, labels = scores[keep], labels[keep]
        max_per_label = dict(self.settings.get("max_per_label", {}))
        garments: list[Garment] = []
        counts: dict[str, int] = {}
        for box, score, label in zip(boxes, scores, labels, strict=True):
            category = self.labels[int(label)]
            counts[category] = counts.get(category, 0) + 1
            if counts[category] > int(max_per_label.get(category, 10**6)):
                continue
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            garments.append(Garment(category, _as_box(box), None, round(float(score), 4)))
        return garments


def _as_box(values: np.ndarray) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)
