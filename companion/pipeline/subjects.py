"""Who the photo is about: the main subject first, people small in the background set apart.

A street photo with bystanders gives every person's garments; a shopper wants the main person's
five rows, not fifteen. The main subject is the largest person; someone much shorter than them is
in the background (the panel collapses their rows behind "More people").
"""

from __future__ import annotations

from dataclasses import replace

from companion.pipeline.imaging import box_area
from companion.types import Garment, Gender, Person

BACKGROUND_HEIGHT = 0.6  # shorter than this share of the main subject: in the background
# The order a shopper reads an outfit in, top down; a category not listed goes last.
CATEGORY_ORDER = ("topwear", "dress", "bottomwear", "footwear", "bag", "other")


def main_subject_first(
    people: list[tuple[Person, Gender]], garments: list[Garment]
) -> tuple[list[tuple[Person, Gender]], list[Garment]]:
    """People by prominence (largest box first), garments renumbered to match."""
    order = sorted(range(len(people)), key=lambda i: -box_area(people[i][0].box))
    new_index = {old: new for new, old in enumerate(order)}
    renumbered = [replace(g, person=None if g.person is None else new_index[g.person])
                  for g in garments]
    return [people[i] for i in order], renumbered


def in_background(people: list[tuple[Person, Gender]]) -> list[bool]:
    """Per person (main subject first, as ``main_subject_first`` orders them)."""
    if not people:
        return []
    main = people[0][0].box
    main_height = main[3] - main[1]
    return [i > 0 and (p.box[3] - p.box[1]) < BACKGROUND_HEIGHT * main_height
            for i, (p, _) in enumerate(people)]


def reading_order(garments: list[Garment], background: list[bool]) -> list[Garment]:
    """The main subject's garments, then other foreground people's and nobody's, then the
    background's; each person's top down."""

    def rank(garment: Garment) -> tuple[int, int, int]:
        person = garment.person
        group = 2 if person is not None and background[person] else (
            0 if person == 0 else 1)
        owner = person if person is not None else len(background)
        return group, owner, _category_rank(garment.category)

    return sorted(garments, key=rank)


def _category_rank(category: str) -> int:
    return CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)
