"""People and their 17 body keypoints, from MoveNet MultiPose."""

from __future__ import annotations

import numpy as np

from companion.inference.store import ModelStore
from companion.pipeline.imaging import crop, iou, letterbox, to_model_input
from companion.pipeline.types import Box, DecodedImage, Person

MODEL = "movenet-multipose"
INPUT_SIDE = 256  # multiples of 32 work; 256 is the model's native size
MIN_PERSON_SCORE = 0.25


def find_people(store: ModelStore, image: DecodedImage, side: int = INPUT_SIDE) -> list[Person]:
    """People in ``image``, best first, with keypoints in pixels of ``image.pixels``."""
    return _poses(store, image.pixels, side)


def add_missed_people(
    store: ModelStore, image: DecodedImage, people: list[Person], other_person_boxes: list[Box],
    side: int = INPUT_SIDE,
) -> list[Person]:
    """``people`` plus a pose for each box from another detector that MoveNet missed.

    MoveNet sees at most six people and misses small ones in a crowd; each missed box gets a
    MoveNet pass of its own crop.
    """
    people = list(people)
    for box in other_person_boxes:
        if any(iou(box, p.box) > 0.3 for p in people):
            continue
        x1, y1, x2, y2 = box
        margin = 0.1 * max(x2 - x1, y2 - y1)
        left, top = max(0.0, x1 - margin), max(0.0, y1 - margin)
        poses = _poses(store, crop(image.pixels, (left, top, x2 + margin, y2 + margin)), side)
        if poses:
            people.append(_shifted(poses[0], left, top))
    return sorted(people, key=lambda p: -p.score)


def _shifted(person: Person, dx: float, dy: float) -> Person:
    keypoints = person.keypoints.copy()
    keypoints[:, 0] += dx
    keypoints[:, 1] += dy
    x1, y1, x2, y2 = person.box
    return Person((x1 + dx, y1 + dy, x2 + dx, y2 + dy), person.score, keypoints)


def _poses(store: ModelStore, pixels: np.ndarray, side: int) -> list[Person]:
    model = store.get(MODEL)
    square, scale = letterbox(pixels, side)
    feeds = {model.manifest.input.name: to_model_input(square[None], model.manifest.input)}
    raw = next(iter(model.run(feeds).values()))[0]  # 6 × 56
    height, width = pixels.shape[:2]
    people = []
    for row in raw:
        score = float(row[55])
        if score < MIN_PERSON_SCORE:
            continue
        points = row[:51].reshape(17, 3)
        keypoints = np.stack(
            [points[:, 1] * side / scale, points[:, 0] * side / scale, points[:, 2]], axis=1
        ).astype(np.float32)
        ymin, xmin, ymax, xmax = (row[51:55] * side / scale).tolist()
        box = (max(0.0, xmin), max(0.0, ymin), min(width, xmax), min(height, ymax))
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        people.append(Person(box=box, score=score, keypoints=keypoints))
    return sorted(people, key=lambda p: -p.score)
