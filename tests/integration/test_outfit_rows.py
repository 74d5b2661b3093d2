"""A real street photo's outfit: one footwear row for a pair of shoes, one row per garment.

The photos are street *trainval* photos on which the detector answers with two footwear boxes for
the one person (a box of both shoes and a box of one): the look must show one pair.
"""

from __future__ import annotations

from collections import Counter

import pytest

from companion.inference.garment_detector import GarmentDetector
from companion.inference.movenet import MoveNet
from companion.pipeline.decode import decode_image
from companion.pipeline.garments import garments_of_people
from companion.pipeline.imaging import iou
from companion.pipeline.outfit import SINGLE
from tests.support.data import STREET, requires_data, street_photo
from training.data.street import load_street

pytestmark = requires_data
TWO_SHOE_BOXES = ("ccp_0295.jpg", "ccp_0048.jpg", "ccp_0072.jpg")


@pytest.fixture(scope="module")
def labelled():
    return {item.name: item for item in load_street(STREET, "trainval")
            if item.name in TWO_SHOE_BOXES}


@pytest.mark.parametrize("name", TWO_SHOE_BOXES)
def test_two_footwear_boxes_of_one_person_become_one_row_holding_the_pair(store, labelled, name):
    pixels = decode_image(street_photo(name)).pixels
    detector = GarmentDetector(store)
    raw = [g for g in detector.predict(pixels, score_threshold=0.2) if g.category == "footwear"]
    assert len(raw) >= 2  # what the detector says on its own
    people = MoveNet(store).predict(pixels)
    garments = garments_of_people(detector, pixels, people)
    shoes = [g for g in garments if g.category == "footwear"]
    assert len(shoes) == 1 and shoes[0].person == 0
    pair = next(g.box for g in labelled[name].garments if g.category == "footwear")
    assert iou(shoes[0].box, pair) >= 0.5
    rows = Counter((g.person, g.category) for g in garments if g.category in SINGLE)
    assert max(rows.values()) == 1, rows
