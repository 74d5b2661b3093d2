"""The one non-maximum suppression and the one gender decision every model's answer goes through."""

from __future__ import annotations

import numpy as np
import pytest

from companion.inference.postprocess import nms, to_gender
from companion.types import Gender


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([
        [0, 0, 10, 10],
        [1, 1, 11, 11],  # IoU 0.68 with the first
        [20, 20, 30, 30],
        [0, 0, 10, 10.5],
    ], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.5, 0.3], dtype=np.float32)
    assert nms(boxes, scores, iou_threshold=0.5).tolist() == [1, 2]


def test_nms_keeps_overlaps_below_the_threshold():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], dtype=np.float32)  # IoU 1/3
    assert nms(boxes, np.array([0.9, 0.8]), 0.5).tolist() == [0, 1]
    assert nms(boxes, np.array([0.9, 0.8]), 0.3).tolist() == [0]


def test_nms_on_equal_scores_keeps_the_first():
    boxes = np.array([[0, 0, 10, 10]] * 3, dtype=np.float32)
    assert nms(boxes, np.array([0.5, 0.5, 0.5], np.float32), 0.5).tolist() == [0]


def test_nms_per_label_never_lets_one_label_suppress_another():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    labels = np.array([0, 1, 0])
    assert nms(boxes, scores, 0.5, labels=labels).tolist() == [0, 1]
    assert nms(boxes, scores, 0.5).tolist() == [0]


def test_nms_handles_no_candidates():
    empty = np.zeros((0, 4), dtype=np.float32)
    assert nms(empty, np.zeros(0), 0.5).size == 0
    assert nms(empty, np.zeros(0), 0.5, labels=np.zeros(0, dtype=int)).size == 0


def test_sure_answers_keep_their_label_and_unsure_ones_become_unknown():
    assert to_gender(0.9, 0.7) == Gender("male", 0.9)
    assert to_gender(0.2, 0.7) == Gender("female", 0.8)
    assert to_gender(0.6, 0.7) == Gender("unknown", 0.6)
    assert to_gender(0.35, 0.7) == Gender("unknown", 0.65)


def test_the_threshold_itself_is_sure_enough_and_scores_are_rounded():
    assert to_gender(0.7, 0.7).label == "male"
    assert to_gender(0.5, 0.5).label == "male"  # a tie goes to male, as trained (P(male) ≥ 0.5)
    assert to_gender(0.123456, 0.0).score == pytest.approx(0.8765)
