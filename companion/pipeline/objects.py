"""COCO objects from CenterNet: the bags people carry (keypoints cannot see those)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.inference.store import ModelStore
from companion.pipeline.imaging import letterbox, nms, to_model_input
from companion.pipeline.types import Box, DecodedImage

MODEL = "centernet"
INPUT_SIDE = 512
BAG_CLASSES = ("backpack", "handbag", "suitcase")
LOOK_CLASSES = ("person", *BAG_CLASSES)
MIN_SCORE = 0.3


@dataclass(frozen=True)
class DetectedObject:
    label: str
    box: Box  # pixels of DecodedImage.pixels
    score: float


def find_objects(
    store: ModelStore, image: DecodedImage, labels: tuple[str, ...] = BAG_CLASSES,
    min_score: float = MIN_SCORE,
) -> list[DetectedObject]:
    """Objects of the given COCO labels, after non-maximum suppression, best first."""
    model = store.get(MODEL)
    square, scale = letterbox(image.pixels, INPUT_SIDE)
    feeds = {model.manifest.input.name: to_model_input(square[None], model.manifest.input)}
    detections = model.run(feeds)["tower_0/detections"][0]  # 100 × (x1, y1, x2, y2, score, class)
    names = model.manifest.labels
    wanted = [
        row for row in detections
        if row[4] >= min_score and names[int(row[5])] in labels
    ]
    if not wanted:
        return []
    rows = np.array(wanted, dtype=np.float32)
    keep = nms(rows[:, :4], rows[:, 4], threshold=0.5)
    return [
        DetectedObject(
            label=names[int(rows[i, 5])],
            box=tuple(float(v) for v in rows[i, :4] / scale),
            score=float(rows[i, 4]),
        )
        for i in keep
    ]
