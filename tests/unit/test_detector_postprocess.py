"""The detector's output decoding, and whose garment each box is.

The decoding replaces ultralytics at run time, so it must read the head's output the way the model
was trained (its letterbox and NMS are the shared ones: test_preprocess, test_postprocess).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from companion.inference.garment_detector import decode, mirrored_anchors, with_mirror
from companion.pipeline.garments import (
    assign_to_people,
    detect_for_people,
    dress_people,
    garments_of_people,
)
from companion.pipeline.outfit import OutfitRules
from companion.types import Garment, Person


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


def _anchor_centres(width: int, height: int) -> np.ndarray:
    """The (cx, cy) of every anchor of a YOLOv8 head, in its output's order."""
    centres = []
    for stride in (8, 16, 32):
        ys, xs = np.mgrid[0:height // stride, 0:width // stride]
        centres.append(np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride]))
    return np.concatenate(centres, axis=1)


def test_an_anchors_mirror_is_the_same_row_counted_from_the_other_side():
    width, height = 64, 32
    centres = _anchor_centres(width, height)
    mirror = mirrored_anchors(width, height, centres.shape[1])
    np.testing.assert_allclose(centres[0, mirror], width - centres[0])
    np.testing.assert_allclose(centres[1, mirror], centres[1])
    np.testing.assert_array_equal(mirror[mirror], np.arange(centres.shape[1]))


def test_a_head_that_is_not_yolov8s_three_strides_is_refused():
    with pytest.raises(ValueError, match="not a YOLOv8 head"):
        mirrored_anchors(64, 64, 100)


def test_the_mirror_views_answer_is_averaged_in_where_its_garment_lies_in_the_image():
    """A garment left of centre is seen right of centre in the mirror image: its box comes back
    to the left and its scores average with the image's own at the same anchor."""
    width, height = 64, 32
    centres = _anchor_centres(width, height)
    count = centres.shape[1]
    raw = np.zeros((6, count), np.float32)
    raw[:2], raw[2:4] = centres, 8.0  # every anchor's box, as the image's output gives it
    mirrored = raw.copy()  # the mirror image's anchors, in its own pixels, are the same
    left = int(np.flatnonzero((centres[0] == 12.0) & (centres[1] == 12.0))[0])
    right = int(np.flatnonzero((centres[0] == width - 12.0) & (centres[1] == 12.0))[0])
    raw[4, left] = 0.6  # the image scores the garment 0.6 ...
    mirrored[4, right] = 0.2  # ... the mirror image 0.2, where the garment lies in it
    merged = with_mirror(raw, mirrored, width, height)
    np.testing.assert_allclose(merged[:4], raw[:4])  # every box back where the image has it
    assert merged[4, left] == pytest.approx(0.4)
    assert np.count_nonzero(merged[4]) == 1


def test_garments_go_to_the_person_who_holds_most_of_them():
    people = [(0.0, 0.0, 100.0, 300.0), (120.0, 0.0, 220.0, 300.0)]
    garments = [
        Garment("topwear", (10.0, 50.0, 90.0, 150.0), None, 0.9),
        Garment("bag", (90.0, 100.0, 150.0, 160.0), None, 0.8),  # a sixth in 0, half in 1
        Garment("footwear", (300.0, 250.0, 340.0, 290.0), None, 0.7),  # outside everyone
    ]
    persons = [g.person for g in assign_to_people(garments, people, (400, 400))]
    assert persons == [0, 1, None]  # the bag: mostly in 1's margin, none holds more than half


def test_shoes_below_the_ankles_and_a_bag_held_out_still_belong_to_the_person():
    """A person's box ends at their keypoints: what lies mostly in the margin the per-person
    pass looks in (PERSON_MARGIN) is theirs too, not nobody's."""
    person = (100.0, 20.0, 280.0, 600.0)  # ankles at y = 600
    shoes = Garment("footwear", (150.0, 585.0, 200.0, 640.0), None, 0.6)  # 27 % inside the box
    bag = Garment("bag", (240.0, 300.0, 320.0, 420.0), None, 0.5)  # half inside, at the side
    far = Garment("bag", (330.0, 300.0, 400.0, 420.0), None, 0.5)  # beyond the margin
    owners = [g.person for g in assign_to_people([shoes, bag, far], [person], (424, 640))]
    assert owners == [0, 0, None]


class _CropEcho:
    """Stands in for GarmentDetector: one topwear box in the middle of every crop it is shown."""

    settings = SimpleNamespace(extra={})  # the manifest's extra: no outfit rules of its own

    def __init__(self) -> None:
        self.crops: list[tuple[int, int]] = []

    def predict(self, pixels, score_threshold=None):
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


def _person(box) -> Person:
    return Person(box, 0.9, np.zeros((17, 3), np.float32))


def test_people_the_whole_photo_left_bare_get_a_pass_of_their_own_unless_they_overlap_someone():
    """Whole photo (600×400): the echo's box (150..450, 100..200) lies in person 0 only. Person 1
    is bare and alone: a pass of its own. Person 2 overlaps person 0 (a second pose): none."""
    detector = _CropEcho()
    pixels = np.zeros((400, 600, 3), dtype=np.uint8)
    people = [_person((100.0, 50.0, 500.0, 390.0)), _person((520.0, 100.0, 590.0, 300.0)),
              _person((110.0, 60.0, 480.0, 380.0))]
    found = garments_of_people(detector, pixels, people)
    assert detector.crops[0] == (600, 400)  # the whole photo first
    assert len(detector.crops) == 2  # then person 1 only
    assert [g.person for g in found] == [0, 1]
    assert 520 - 0.15 * 70 <= found[1].box[0] < found[1].box[2] <= 590 + 0.15 * 70


def test_a_bare_person_far_smaller_than_everyone_dressed_gets_no_second_look():
    """The whole photo dresses the 300-px person 0; person 1 (250 px) gets a pass of their own,
    person 2 (100 px: a passer-by far behind, or a stray pose) does not."""
    asked: list = []

    def find(region):
        asked.append(region)
        if region is None:
            return [Garment("topwear", (110.0, 60.0, 190.0, 150.0), None, 0.9)]
        left, top, right = region[:3]
        return [Garment("topwear", (left + 5.0, top + 5.0, right - 5.0, top + 40.0), None, 0.8)]

    people = [_person((100.0, 50.0, 200.0, 350.0)), _person((300.0, 80.0, 380.0, 330.0)),
              _person((500.0, 200.0, 540.0, 300.0))]
    found = dress_people(find, (600, 400), people, OutfitRules(second_look_height=0.5))
    assert [g.person for g in found] == [0, 1]
    assert len(asked) == 2
    everyone = dress_people(find, (600, 400), people, OutfitRules(second_look_height=0.0))
    assert [g.person for g in everyone] == [0, 1, 2]
