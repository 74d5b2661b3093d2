"""One row per garment of a person (companion.pipeline.outfit), on hand-made boxes.

A person stands in a 200×600 box; their ankles (MoveNet keypoints 15, 16) are at x 70 and 130,
y 560. Shoes are labelled as a pair in the street data, so a look shows one footwear row per
person whose box holds both shoes.
"""

from __future__ import annotations

import numpy as np
import pytest

from companion.pipeline.outfit import OutfitRules, tidy_outfit
from companion.types import Garment, Person

RULES = OutfitRules(pair_gap=1.0, pair_level=0.3, same_garment=0.7, bottom_in_dress=0.7,
                    top_dress_iou=0.6, rival_score=1.0)


def _person(x: float = 0.0, ankles: bool = True) -> Person:
    points = np.zeros((17, 3), np.float32)
    if ankles:
        points[15] = (x + 70, 560, 0.9)
        points[16] = (x + 130, 560, 0.9)
    return Person((x, 0.0, x + 200.0, 600.0), 0.9, points)


def _rows(garments, people, rules=RULES):
    return sorted((g.category, g.person, tuple(round(v) for v in g.box), g.score)
                  for g in tidy_outfit(garments, people, rules))


def test_two_shoes_of_one_person_become_one_pair_box():
    left = Garment("footwear", (50.0, 550.0, 95.0, 595.0), 0, 0.6)
    right = Garment("footwear", (110.0, 548.0, 150.0, 598.0), 0, 0.4)
    assert _rows([left, right], [_person()]) == [("footwear", 0, (50, 548, 150, 598), 0.6)]


def test_a_pair_box_and_a_box_of_one_of_its_shoes_stay_the_pair():
    pair = Garment("footwear", (50.0, 548.0, 150.0, 598.0), 0, 0.8)
    one = Garment("footwear", (110.0, 550.0, 150.0, 596.0), 0, 0.3)
    assert _rows([one, pair], [_person()]) == [("footwear", 0, (50, 548, 150, 598), 0.8)]


def test_footwear_that_is_not_the_other_shoe_is_dropped_not_merged():
    """A second box far above the feet (a bag's buckle taken for a shoe) would stretch the pair
    over the legs; a person has one pair, so it goes."""
    shoe = Garment("footwear", (50.0, 550.0, 150.0, 598.0), 0, 0.7)
    high = Garment("footwear", (60.0, 300.0, 100.0, 340.0), 0, 0.3)
    assert _rows([shoe, high], [_person()]) == [("footwear", 0, (50, 550, 150, 598), 0.7)]


def test_a_box_beyond_the_seen_feet_is_not_the_other_shoe():
    shoe = Garment("footwear", (50.0, 550.0, 100.0, 598.0), 0, 0.7)
    beside = Garment("footwear", (170.0, 550.0, 215.0, 598.0), 0, 0.5)  # right of ankle 130 + 50
    assert _rows([shoe, beside], [_person()]) == [("footwear", 0, (50, 550, 100, 598), 0.7)]


def test_each_person_keeps_their_own_pair():
    people = [_person(0.0), _person(300.0)]
    shoes = [Garment("footwear", (50.0, 550.0, 150.0, 598.0), 0, 0.7),
             Garment("footwear", (350.0, 550.0, 450.0, 598.0), 1, 0.6)]
    assert [g.person for g in tidy_outfit(shoes, people, RULES)] == [0, 1]


def test_a_bottom_inside_a_better_bottom_is_the_same_garment():
    """A skirt found twice (the skirt, and the skirt with the tights' top) is one row."""
    skirt = Garment("bottomwear", (40.0, 280.0, 160.0, 400.0), 0, 0.8)
    again = Garment("bottomwear", (45.0, 290.0, 155.0, 420.0), 0, 0.4)
    assert _rows([skirt, again], [_person()]) == [("bottomwear", 0, (40, 280, 160, 400), 0.8)]


def test_bottoms_over_different_regions_stay_two_garments():
    """A skirt at the hips and leggings from its hem down: the detector sees two garments."""
    skirt = Garment("bottomwear", (40.0, 280.0, 160.0, 380.0), 0, 0.8)
    leggings = Garment("bottomwear", (60.0, 370.0, 140.0, 550.0), 0, 0.5)
    assert len(tidy_outfit([skirt, leggings], [_person()], RULES)) == 2


def test_a_dress_wins_over_a_weaker_skirt_box_inside_it():
    dress = Garment("dress", (40.0, 120.0, 160.0, 420.0), 0, 0.7)
    skirt = Garment("bottomwear", (45.0, 290.0, 155.0, 415.0), 0, 0.5)
    assert _rows([skirt, dress], [_person()]) == [("dress", 0, (40, 120, 160, 420), 0.7)]


def test_a_weaker_dress_box_under_a_top_counts_as_that_top_only_when_rules_say_so():
    top = Garment("topwear", (40.0, 120.0, 160.0, 300.0), 0, 0.8)
    dress = Garment("dress", (42.0, 125.0, 158.0, 310.0), 0, 0.5)
    assert [g.category for g in tidy_outfit([top, dress], [_person()], RULES)] == ["topwear"]
    lenient = OutfitRules(rival_score=0.5)  # a rival is dropped only below half the top's score
    assert len(tidy_outfit([top, dress], [_person()], lenient)) == 2


def test_a_jacket_over_a_dress_stays_beside_the_dress():
    """The top covers only the upper part of the dress: two garments."""
    dress = Garment("dress", (40.0, 120.0, 160.0, 420.0), 0, 0.7)
    jacket = Garment("topwear", (30.0, 110.0, 170.0, 260.0), 0, 0.6)
    assert len(tidy_outfit([dress, jacket], [_person()], RULES)) == 2


def test_a_person_wears_one_dress_when_the_rules_say_so():
    """A long coat over a dress is often scored as a second dress: one dress row, the better."""
    dress = Garment("dress", (40.0, 120.0, 160.0, 420.0), 0, 0.7)
    coat = Garment("dress", (20.0, 100.0, 180.0, 480.0), 0, 0.4)
    assert len(tidy_outfit([dress, coat], [_person()], RULES)) == 2
    one = OutfitRules(dress_limit=1.0)
    assert tidy_outfit([coat, dress], [_person()], one) == [dress]


def test_two_bags_are_two_products_but_a_bag_inside_a_better_one_is_that_bag_again():
    tote = Garment("bag", (0.0, 300.0, 60.0, 380.0), 0, 0.6)
    clutch = Garment("bag", (140.0, 300.0, 190.0, 340.0), 0, 0.4)
    again = Garment("bag", (10.0, 310.0, 58.0, 370.0), 0, 0.3)
    assert tidy_outfit([tote, clutch, again], [_person()], RULES) == [tote, clutch]


def test_nobodys_garments_are_left_as_they_are():
    loose = [Garment("footwear", (500.0, 550.0, 560.0, 598.0), None, 0.5),
             Garment("footwear", (505.0, 555.0, 550.0, 590.0), None, 0.4)]
    assert tidy_outfit(loose, [_person()], RULES) == loose


def test_without_visible_ankles_a_shoe_close_beside_the_other_still_pairs():
    left = Garment("footwear", (50.0, 550.0, 95.0, 595.0), 0, 0.6)
    right = Garment("footwear", (110.0, 548.0, 150.0, 598.0), 0, 0.4)
    rows = tidy_outfit([left, right], [_person(ankles=False)], RULES)
    assert [g.box for g in rows] == [pytest.approx((50.0, 548.0, 150.0, 598.0))]


def test_the_rules_are_read_from_the_manifests_extra():
    rules = OutfitRules.of({"outfit": {"pair_gap": 0.5, "same_garment": 0.8}})
    assert (rules.pair_gap, rules.same_garment) == (0.5, 0.8)
    assert OutfitRules.of({}) == OutfitRules()
