"""People MoveNet missed in a crowd, found again in their own crop.

MoveNet sees at most six people and misses small ones in a group; another detector's person
boxes (CenterNet's) that no MoveNet person overlaps each get a MoveNet pass of their own crop.
"""

from __future__ import annotations

import numpy as np

from companion.inference.movenet import MoveNet
from companion.pipeline.imaging import crop, iou
from companion.types import Box, Person

CROP_MARGIN = 0.1  # of the box's longer side, on every side
SAME_PERSON_IOU = 0.3


def add_missed_people(
    movenet: MoveNet, pixels: np.ndarray, people: list[Person], other_person_boxes: list[Box]
) -> list[Person]:
    """``people`` plus a pose for each box from another detector that MoveNet missed, best first."""
    people = list(people)
    for box in other_person_boxes:
        if any(iou(box, p.box) > SAME_PERSON_IOU for p in people):
            continue
        x1, y1, x2, y2 = box
        margin = CROP_MARGIN * max(x2 - x1, y2 - y1)
        left, top = max(0.0, x1 - margin), max(0.0, y1 - margin)
        poses = movenet.predict(crop(pixels, (left, top, x2 + margin, y2 + margin)))
        if poses:
            people.append(_shifted(poses[0], left, top))
    return sorted(people, key=lambda p: -p.score)


def _shifted(person: Person, dx: float, dy: float) -> Person:
    keypoints = person.keypoints.copy()
    keypoints[:, 0] += dx
    keypoints[:, 1] += dy
    x1, y1, x2, y2 = person.box
    return Person((x1 + dx, y1 + dy, x2 + dx, y2 + dy), person.score, keypoints)
