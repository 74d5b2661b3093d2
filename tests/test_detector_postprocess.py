"""The detector's numpy pre- and post-processing: letterbox, decoding and NMS.

These replace ultralytics at run time, so they must agree with how the model was trained:
a centred letterbox padded with grey 114, boxes mapped back exactly, NMS per label.
"""

from __future__ import annotations

import numpy as np
import pytest

from companion.pipeline.detect_garments import (
    GarmentDetector,
    Letterbox,
    assign_to_people,
    decode,
    detect_for_people,
    letterbox,
    nms,
    nms_per_label,
)
from companion.pipeline.types import Garment


def test_letterbox_centres_a_portrait_image_and_pads_with_grey():
    pixels = np.full((640, 420, 3), 200, dtype=np.uint8)
    square, placement = letterbox(pixels, 320)
    assert square.shape == (320, 320, 3)
    assert placement.scale == pytest.approx(0.5)
    assert placement.pad_y == 0
    assert placement.pad_x == (320 - 210) // 2
    assert (square[:, : int(placement.pad_x)] == 114).all()  # left border is padding
    assert (square[:, -int(placement.pad_x) :] == 114).all()  # and so is the right one
    assert (square[:, 160] == 200).all()  # the image sits in the middle


def test_letterbox_maps_boxes_back_to_the_original_pixels():
    pixels = np.zeros((300, 600, 3), dtype=np.uint8)  # landscape: padded above and below
    _, placement = letterbox(pixels, 320)
    original = np.array([[60.0, 30.0, 300.0, 270.0]])
    in_square = original * placement.scale + [placement.pad_x, placement.pad_y] * 2
    back = placement.to_original(in_square, 600, 300)
    np.testing.assert_allclose(back, original, atol=1e-3)


def test_boxes_outside_the_image_are_clipped_to_it():
    placement = Letterbox(scale=1.0, pad_x=10.0, pad_y=0.0)
    back = placement.to_original(np.array([[0.0, -5.0, 500.0, 50.0]]), 100, 40)
    np.testing.assert_allclose(back, [[0.0, 0.0, 100.0, 40.0]])


def test_decode_reads_centre_size_boxes_and_the_best_label():
    # Two candidates, three labels: (cx, cy, w, h, s0, s1, s2) per column.
    raw = np.array([
        [50.0, 10.0],
        [60.0, 10.0],
        [20.0, 4.0],
        [40.0, 4.0],
        [0.1, 0.05],
        [0.9, 0.1],
        [0.3, 0.2],
    ])
    boxes, scores, labels = decode(raw, score_threshold=0.25)
    assert boxes.shape == (1, 4)  # the second candidate's best score 0.2 is below threshold
    np.testing.assert_allclose(boxes[0], [40.0, 40.0, 60.0, 80.0])
    assert scores[0] == pytest.approx(0.9)
    assert labels[0] == 1


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([
        [0, 0, 10, 10],
        [1, 1, 11, 11],  # IoU 0.68 with the first
        [20, 20, 30, 30],
        [0, 0, 10, 10.5],
    ], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.5, 0.3], dtype=np.float32)
    keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [1, 2]


def test_nms_keeps_overlaps_below_the_threshold():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], dtype=np.float32)  # IoU 1/3
    assert nms(boxes, np.array([0.9, 0.8]), 0.5).tolist() == [0, 1]
    assert nms(boxes, np.array([0.9, 0.8]), 0.3).tolist() == [0]


def test_nms_per_label_never_lets_one_label_suppress_another():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    labels = np.array([0, 1, 0])
    keep = nms_per_label(boxes, scores, labels, 0.5)
    assert sorted(keep.tolist()) == [0, 1]


def test_nms_per_label_handles_no_candidates():
    empty = np.zeros((0, 4), dtype=np.float32)
    keep = nms_per_label(empty, np.zeros(0), np.zeros(0, dtype=int), 0.5)
    assert keep.size == 0


def test_garments_go_to_the_person_who_holds_most_of_them():
    people = [(0.0, 0.0, 100.0, 300.0), (120.0, 0.0, 220.0, 300.0)]
    garments = [
        Garment("topwear", (10.0, 50.0, 90.0, 150.0), None, 0.9),
        Garment("bag", (90.0, 100.0, 150.0, 160.0), None, 0.8),  # half on each: 1/6 vs 1/2
        Garment("footwear", (300.0, 250.0, 340.0, 290.0), None, 0.7),  # outside everyone
    ]
    persons = [g.person for g in assign_to_people(garments, people)]
    assert persons == [0, None, None]


class _CropEcho(GarmentDetector):
    """The real class with its model replaced: one topwear box in the middle of every crop."""

    def __init__(self) -> None:
        self.crops: list[tuple[int, int]] = []

    def detect(self, pixels, score_threshold=None):
        height, width = pixels.shape[:2]
        self.crops.append((width, height))
        return [Garment("topwear", (width / 4, height / 4, width * 3 / 4, height / 2), None, 0.9)]


def test_garments_found_in_a_persons_crop_land_on_that_person_in_image_pixels():
    detector = _CropEcho()
    pixels = np.zeros((400, 600, 3), dtype=np.uint8)
    people = [(100.0, 100.0, 200.0, 300.0), (400.0, 50.0, 500.0, 350.0), (10.0, 10.0, 12.0, 12.0)]
    found = detect_for_people(detector, pixels, people, margin=0.1)
    assert detector.crops == [(120, 240), (120, 360)]  # the 2-pixel "person" is skipped
    assert [g.person for g in found] == [0, 1]
    assert found[0].box == pytest.approx((90 + 30, 80 + 60, 90 + 90, 80 + 120))
    assert found[1].box == pytest.approx((390 + 30, 20 + 90, 390 + 90, 20 + 180))
