"""People and their 17 body keypoints, from MoveNet MultiPose."""

from __future__ import annotations

import numpy as np

from companion.inference.store import ModelStore
from companion.pipeline.imaging import letterbox, to_model_input
from companion.pipeline.types import DecodedImage, Person

MODEL = "movenet-multipose"
INPUT_SIDE = 256  # multiples of 32 work; 256 is the model's native size
MIN_PERSON_SCORE = 0.25


def find_people(store: ModelStore, image: DecodedImage, side: int = INPUT_SIDE) -> list[Person]:
    """People in ``image``, best first, with keypoints in pixels of ``image.pixels``."""
    model = store.get(MODEL)
    square, scale = letterbox(image.pixels, side)
    feeds = {model.manifest.input.name: to_model_input(square[None], model.manifest.input)}
    raw = next(iter(model.run(feeds).values()))[0]  # 6 × 56
    height, width = image.pixels.shape[:2]
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
