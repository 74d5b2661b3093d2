"""The main subject first; people much smaller than them are in the background."""

from __future__ import annotations

import numpy as np

from companion.pipeline.subjects import in_background, main_subject_first, reading_order
from companion.types import Garment, Gender, Person

WOMAN = Gender("female", 0.9)


def person(x: float, height: float) -> tuple[Person, Gender]:
    return Person((x, 0.0, x + height / 3, height), 0.9, np.zeros((17, 3), np.float32)), WOMAN


def test_the_largest_person_comes_first_and_garments_follow_their_owner():
    people = [person(0, 100), person(200, 400), person(500, 120)]
    garments = [Garment("topwear", (0, 0, 1, 1), 0), Garment("footwear", (0, 0, 2, 2), 1),
                Garment("bag", (0, 0, 3, 3), None)]
    ordered, renumbered = main_subject_first(people, garments)
    assert [p.box[3] for p, _ in ordered] == [400, 120, 100]
    assert [g.person for g in renumbered] == [2, 0, None]


def test_people_much_shorter_than_the_main_subject_are_in_the_background():
    people = [person(0, 400), person(200, 300), person(500, 120)]
    assert in_background(people) == [False, False, True]
    assert in_background([]) == []


def test_garments_read_main_subject_first_top_down_then_others_then_the_background():
    box = (0.0, 0.0, 1.0, 1.0)
    garments = [Garment("footwear", box, 2), Garment("bag", box, None),
                Garment("footwear", box, 0), Garment("topwear", box, 1),
                Garment("bottomwear", box, 0), Garment("topwear", box, 0)]
    ordered = reading_order(garments, background=[False, False, True])
    assert [(g.person, g.category) for g in ordered] == [
        (0, "topwear"), (0, "bottomwear"), (0, "footwear"),
        (1, "topwear"), (None, "bag"), (2, "footwear")]
