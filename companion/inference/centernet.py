"""COCO objects from CenterNet: the bags people carry (keypoints cannot see those) and people
MoveNet may have missed in a crowd."""

from __future__ import annotations

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.postprocess import nms
from companion.inference.preprocess import letterbox
from companion.types import DetectedObject

INPUT_SIDE = 512
DETECTIONS = "tower_0/detections"  # 100 × (x1, y1, x2, y2, score, class) in input pixels
BAG_CLASSES = ("backpack", "handbag", "suitcase")
MIN_SCORE = 0.3
IOU_THRESHOLD = 0.5


class CenterNet(InferenceModel):
    """Objects of chosen COCO labels, after non-maximum suppression."""

    model_name = "centernet"

    def _predict(
        self, pixels: np.ndarray, labels: tuple[str, ...] = BAG_CLASSES,
        min_score: float | None = None,
    ) -> list[DetectedObject]:
        """Objects of ``labels`` in an H×W×3 RGB image, best first, boxes in its pixels."""
        settings = self.settings
        min_score = settings.number("min_score", MIN_SCORE) if min_score is None else min_score
        square, placement = letterbox(pixels, settings.size(INPUT_SIDE)[0])
        detections = self._run(self._input(square[None]))[DETECTIONS][0]
        names = settings.labels
        wanted = [
            row for row in detections
            if row[4] >= min_score and names[int(row[5])] in labels
        ]
        if not wanted:
            return []
        rows = np.array(wanted, dtype=np.float32)
        keep = nms(rows[:, :4], rows[:, 4], settings.number("iou_threshold", IOU_THRESHOLD))
        boxes = placement.to_original(rows[:, :4])
        return [
            DetectedObject(
                label=names[int(rows[i, 5])],
                box=tuple(float(v) for v in boxes[i]),
                score=float(rows[i, 4]),
            )
            for i in keep
        ]
