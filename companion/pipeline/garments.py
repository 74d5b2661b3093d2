"""Whose garment is it: detector boxes and bags given to the people of a look.

Why per person as well: the detector learned from photos of one centred, full-body person. In a
group photo each person is small in the whole picture, but their own crop looks like training
data, and every garment found there belongs to that person.

Why ``dress_people`` takes a ``find`` function instead of the detector: the detector's
thresholds are tuned by replaying this very function on stored candidates
(training/evaluate/garment_tuning.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from companion.inference.centernet import BAG_CLASSES
from companion.inference.garment_detector import GarmentDetector
from companion.pipeline.crops import expand_box
from companion.pipeline.imaging import box_area, intersection, iou
from companion.pipeline.outfit import OutfitRules, inside_share, tidy_outfit
from companion.types import Box, DetectedObject, Garment, Person

PERSON_MARGIN = 0.15  # of a person box's width/height on every side, for the per-person pass
SAME_PERSON_IOU = 0.3  # people overlapping this much are usually two poses of one person

Region = tuple[int, int, int, int]  # left, top, right, bottom: a crop of the photo
# Garments the detector finds in the whole photo (None) or in one crop, in photo pixels.
Find = Callable[[Region | None], list[Garment]]


def assign_to_people(garments: list[Garment], people_boxes: list[Box], size: tuple[int, int]
                     ) -> list[Garment]:
    """Give each garment the person whose box holds most of it (more than half); failing that,
    the person whose box widened by PERSON_MARGIN (the crop the per-person pass looks in) does;
    else nobody (None).

    Why the second try: a person's box ends at their keypoints, so shoes below the ankles and a
    bag held out at the side lie mostly outside it. On street trainval such garments (6 shoes, 27
    bags) were nobody's: searched without the wearer's gender, and a shoe beside the person's own
    pair became a second footwear row.
    """
    widened = [expand_box(box, *size, PERSON_MARGIN) for box in people_boxes]
    assigned = []
    for garment in garments:
        owner = _holder(garment.box, people_boxes)
        if owner is None:
            owner = _holder(garment.box, widened)
        assigned.append(replace(garment, person=owner))
    return assigned


def _holder(box: Box, people_boxes: list[Box]) -> int | None:
    """The person whose box holds most of ``box``, when it holds more than half."""
    best, best_share = None, 0.5
    for index, person in enumerate(people_boxes):
        share = inside_share(box, person)
        if share > best_share:
            best, best_share = index, share
    return best


def person_region(box: Box, size: tuple[int, int], margin: float = PERSON_MARGIN
                  ) -> Region | None:
    """The crop of a person's box with ``margin`` inside a ``size`` (width, height) photo; None
    when it is too small to look at."""
    left, top, right, bottom = (int(v) for v in expand_box(box, *size, margin))
    if right - left < 8 or bottom - top < 8:
        return None
    return left, top, right, bottom


def shifted(garments: list[Garment], region: Region | None) -> list[Garment]:
    """Garments found in a crop, in pixels of the whole photo."""
    if region is None:
        return garments
    left, top = region[:2]
    return [replace(g, box=(g.box[0] + left, g.box[1] + top, g.box[2] + left, g.box[3] + top))
            for g in garments]


def detector_finder(detector: GarmentDetector, pixels: np.ndarray) -> Find:
    def find(region: Region | None) -> list[Garment]:
        if region is None:
            return detector.predict(pixels)
        left, top, right, bottom = region
        return shifted(detector.predict(pixels[top:bottom, left:right]), region)
    return find


def detect_for_people(
    detector: GarmentDetector, pixels: np.ndarray, people_boxes: list[Box],
    margin: float = PERSON_MARGIN,
) -> list[Garment]:
    """Garments of each person, found in that person's crop (with ``margin``), in image pixels."""
    find = detector_finder(detector, pixels)
    size = (pixels.shape[1], pixels.shape[0])
    garments: list[Garment] = []
    for index, box in enumerate(people_boxes):
        region = person_region(box, size, margin)
        if region is not None:
            garments += [replace(g, person=index) for g in find(region)]
    return garments


def dress_people(find: Find, size: tuple[int, int], people: list[Person],
                 rules: OutfitRules | None = None) -> list[Garment]:
    """The detector on the whole photo; then, for people it left bare (small ones in a group
    photo), again on their own crop, unless they overlap someone already dressed (usually a
    second pose of the same person) or are far smaller than everyone dressed (``rules``'
    ``second_look_height``); then, with ``rules``, each person's outfit tidied
    (companion.pipeline.outfit: shoes as a pair, one row per garment)."""
    boxes = [p.box for p in people]
    garments = assign_to_people(find(None), boxes, size)
    covered = {g.person for g in garments if g.person is not None}
    # Far smaller than everyone dressed: a passer-by behind, or a spurious pose (on street trainval
    # such people gave 0.41 false garments per photo and no right one).
    tallest = max((boxes[j][3] - boxes[j][1] for j in covered), default=0.0)
    shortest = (rules.second_look_height if rules is not None else 0.0) * tallest
    alone = [i for i in range(len(people)) if i not in covered
             and boxes[i][3] - boxes[i][1] >= shortest
             and all(iou(boxes[i], boxes[j]) < SAME_PERSON_IOU for j in covered)]
    for index in alone:
        region = person_region(boxes[index], size)
        if region is not None:
            garments += [replace(g, person=index) for g in find(region)]
    return garments if rules is None else tidy_outfit(garments, people, rules)


def garments_of_people(
    detector: GarmentDetector, pixels: np.ndarray, people: list[Person]
) -> list[Garment]:
    """Every person's garments in a photo (``dress_people`` with the detector and its rules)."""
    return dress_people(detector_finder(detector, pixels), (pixels.shape[1], pixels.shape[0]),
                        people, OutfitRules.of(detector.settings.extra))


def bags(objects: list[DetectedObject], people: list[Person]) -> list[Garment]:
    """Bags as garments of the person they overlap most (or nobody's)."""
    found = []
    for obj in objects:
        if obj.label not in BAG_CLASSES:
            continue
        overlaps = [box_area(intersection(p.box, obj.box)) for p in people]
        owner = int(np.argmax(overlaps)) if max(overlaps) > 0 else None
        found.append(Garment("bag", obj.box, owner, round(obj.score, 4)))
    return found
