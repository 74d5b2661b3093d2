"""Garment boxes from the trained detector (``models/garment-detector``), without ultralytics.

Why our own pre- and post-processing: the detector was trained with ultralytics, which is
AGPL-3.0, so the companion only runs the exported ONNX graph and does the letterbox, the decoding
of its ``[1, 4+C, N]`` output and the non-maximum suppression in numpy here. The letterbox must
match training exactly (scaled to fit, centred, grey 114 padding) or the boxes drift.

Why two steps (``candidates`` then ``select``): the thresholds are tuned on stored candidates
(training/evaluate/garment_tuning.py), and the tuning must replay exactly what a look does.

Why a mirror view (the manifest's ``mirror_view``): a detector trained on 771 photos scores the
same garment differently in an image and its mirror image, and averaging the two answers anchor
by anchor takes that noise off (fewer false boxes, more true ones: docs/evaluation.md, "Garment
boxes") for one more run of the model. The mirror image's anchors are the image's own, their
columns reversed, so the two outputs average position by position with no matching of boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.postprocess import nms
from companion.inference.preprocess import Placement, letterbox
from companion.types import Box, Garment

INPUT_SIDE = 320
SCORE_THRESHOLD = 0.25
IOU_THRESHOLD = 0.5
PAD_VALUE = 114
CANDIDATE_FLOOR = 0.01  # candidates kept for selection: below every threshold worth tuning
STRIDES = (8, 16, 32)  # YOLOv8's three heads, in the order its output lists their anchors


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


@dataclass(frozen=True)
class Selection:
    """Which candidates become garments: the manifest's ``extra``, read in one place.

    ``score_thresholds`` per label (``score_threshold`` for labels it does not name): the
    categories differ (a bag or a dress scores lower than a top and is still right).
    """

    score_threshold: float = SCORE_THRESHOLD
    score_thresholds: dict[str, float] = field(default_factory=dict)
    iou_threshold: float = IOU_THRESHOLD
    max_per_label: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, extra: dict) -> Selection:
        return cls(
            float(extra.get("score_threshold", SCORE_THRESHOLD)),
            {k: float(v) for k, v in extra.get("score_thresholds", {}).items()},
            float(extra.get("iou_threshold", IOU_THRESHOLD)),
            {k: int(v) for k, v in extra.get("max_per_label", {}).items()},
        )

    def threshold(self, label: str) -> float:
        return self.score_thresholds.get(label, self.score_threshold)

    def lowest(self, labels: list[str]) -> float:
        return min(self.threshold(label) for label in labels)


@dataclass(frozen=True)
class Candidates:
    """The head's candidates for one image (``[4+C, N]`` in input pixels, those whose best score
    reaches ``CANDIDATE_FLOOR``), and how to map them back onto the image."""

    raw: np.ndarray
    placement: Placement
    width: int
    height: int


@lru_cache(maxsize=4)
def mirrored_anchors(width: int, height: int, count: int) -> np.ndarray:
    """For each anchor of a ``width`` × ``height`` input, the index of the anchor at its mirror
    position (the same row, the column counted from the other side), in the output's order.
    Made once per input size (read-only): every look asks for the same one."""
    order, start = [], 0
    for stride in STRIDES:
        rows, columns = height // stride, width // stride
        grid = start + np.arange(rows * columns).reshape(rows, columns)
        order.append(grid[:, ::-1].reshape(-1))
        start += rows * columns
    if start != count:
        raise ValueError(f"a {width}x{height} input with strides {STRIDES} has {start} anchors, "
                         f"the detector's output {count}: not a YOLOv8 head")
    mirror = np.concatenate(order)
    mirror.setflags(write=False)
    return mirror


def with_mirror(raw: np.ndarray, mirrored: np.ndarray, width: int, height: int) -> np.ndarray:
    """The head's output ``[4+C, N]`` for a ``width`` × ``height`` input averaged with its output
    for the mirror image: boxes flipped back, then boxes and scores averaged anchor by anchor."""
    back = mirrored[:, mirrored_anchors(width, height, raw.shape[1])]  # a copy: fancy indexing
    back[0] = width - back[0]
    return (raw + back) / 2


def select(candidates: Candidates, labels: list[str], selection: Selection) -> list[Garment]:
    """Garments among ``candidates``, best score first: each label's threshold, per-label NMS,
    at most ``max_per_label`` of each label; no person assigned yet."""
    boxes, scores, codes = decode(candidates.raw, selection.lowest(labels))
    floors = np.array([selection.threshold(label) for label in labels], np.float32)
    above = scores >= floors[codes]
    boxes, scores, codes = boxes[above], scores[above], codes[above]
    keep = nms(boxes, scores, selection.iou_threshold, labels=codes)
    boxes = candidates.placement.to_original(boxes[keep],
                                             clip_to=(candidates.width, candidates.height))
    garments: list[Garment] = []
    counts: dict[str, int] = {}
    for box, score, code in zip(boxes, scores[keep], codes[keep], strict=True):
        category = labels[int(code)]
        counts[category] = counts.get(category, 0) + 1
        if counts[category] > selection.max_per_label.get(category, 10**6):
            continue
        if box[2] - box[0] < 1 or box[3] - box[1] < 1:
            continue
        garments.append(Garment(category, _as_box(box), None, round(float(score), 4)))
    return garments


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
    def selection(self) -> Selection:
        return Selection.of(self.settings.extra)

    @property
    def score_threshold(self) -> float:
        return self.selection.score_threshold

    @property
    def mirror_view(self) -> bool:
        """Whether each image's answer is averaged with its mirror image's (see the module)."""
        return bool(self.settings.get("mirror_view", False))

    @property
    def iou_threshold(self) -> float:
        return self.selection.iou_threshold

    def candidates(self, pixels: np.ndarray, floor: float = CANDIDATE_FLOOR) -> Candidates:
        """The head's candidates for an H×W×3 RGB uint8 image whose best score reaches ``floor``."""
        self.load()
        height, width = pixels.shape[:2]
        fill = int(self.settings.number("pad_value", PAD_VALUE))
        square, placement = letterbox(pixels, self.size, fill, centre=True)
        raw = self._output(self._input(square[None]))[0]
        if self.mirror_view:
            mirrored = self._output(self._input(np.ascontiguousarray(square[None, :, ::-1])))[0]
            raw = with_mirror(raw, mirrored, square.shape[1], square.shape[0])
        raw = raw[:, raw[4:].max(axis=0) >= floor]
        return Candidates(raw, placement, width, height)

    def _predict(self, pixels: np.ndarray, score_threshold: float | None = None) -> list[Garment]:
        """Garments in an H×W×3 RGB uint8 image, boxes in its pixels, best score first.

        ``score_threshold`` overrides every label's threshold (the manifest's otherwise).
        """
        selection = self.selection
        if score_threshold is not None:
            selection = Selection(score_threshold, {}, selection.iou_threshold,
                                  selection.max_per_label)
        floor = min(CANDIDATE_FLOOR, selection.lowest(self.labels))
        return select(self.candidates(pixels, floor), self.labels, selection)


def _as_box(values: np.ndarray) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)
