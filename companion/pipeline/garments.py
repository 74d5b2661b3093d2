"""Whose garment is it: detector boxes and bags given to the people of a look.

Why per person as well: the detector learned from photos of one centred, full-body person. In a
group photo each person is small in the whole picture, but their own crop looks like training
data, and every garment found there belongs to that person.
"""

from __future__ import annotations

import numpy as np

from companion.inference.centernet import BAG_CLASSES
from companion.inference.garment_detector import GarmentDetector
from companion.pipeline.imaging import box_area, intersection, iou
from companion.types import Box, DetectedObject, Garment, Person

PERSON_MARGIN = 0.15  # of a person box's width/height on every side, for the per-person pass
SAME_PERSON_IOU = 0.3  # people overlapping this much are usually two poses of one person


def assign_to_people(garments: list[Garment], people_boxes: list[Box]) -> list[Garment]:
    """Give each garment the person whose box holds most of it (None when none holds half)."""
    assigned = []
    for garment in garments:
        best, best_share = None, 0.5
        area = box_area(garment.box)
        for index, box in enumerate(people_boxes):
            share = box_area(intersection(garment.box, box)) / area if area > 0 else 0.0
            if share > best_share:
                best, best_share = index, share
        assigned.append(Garment(garment.category, garment.box, best, garment.score))
    return assigned


def detect_for_people(
    detector: GarmentDetector, pixels: np.ndarray, people_boxes: list[Box],
    margin: float = PERSON_MARGIN,
) -> list[Garment]:
    """Garments of each person, found in that person's crop (with ``margin``), in image pixels."""
    height, width = pixels.shape[:2]
    garments: list[Garment] = []
    for index, (x1, y1, x2, y2) in enumerate(people_boxes):
        dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
        left, top = int(max(0.0, x1 - dx)), int(max(0.0, y1 - dy))
        right, bottom = int(min(float(width), x2 + dx)), int(min(float(height), y2 + dy))
        if right - left < 8 or bottom - top < 8:
            continue
        for g in detector.predict(pixels[top:bottom, left:right]):
            bx1, by1, bx2, by2 = g.box
            box = (bx1 + left, by1 + top, bx2 + left, by2 + top)
            garments.append(Garment(g.category, box, index, g.score))
    return garments


def garments_of_people(
    detector: GarmentDetector, pixels: np.ndarray, people: list[Person]
) -> list[Garment]:
    """The detector on the whole photo; then, for people it left bare (small ones in a group
    photo), again on their own crop, unless they overlap someone already dressed (usually a
    second pose of the same person)."""
    boxes = [p.box for p in people]
    garments = assign_to_people(detector.predict(pixels), boxes)
    covered = {g.person for g in garments if g.person is not None}
    alone = [i for i in range(len(people)) if i not in covered
             and all(iou(boxes[i], boxes[j]) < SAME_PERSON_IOU for j in covered)]
    again = detect_for_people(detector, pixels, [boxes[i] for i in alone])
    return garments + [Garment(g.category, g.box, alone[g.person], g.score) for g in again]


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
