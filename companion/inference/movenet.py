"""People and their 17 body keypoints, from MoveNet MultiPose."""

from __future__ import annotations

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.preprocess import letterbox
from companion.types import Person

INPUT_SIDE = 256  # multiples of 32 work; 256 is the model's native size
MIN_PERSON_SCORE = 0.25


class MoveNet(InferenceModel):
    """Up to six people of a picture, each with a box, a score and 17 keypoints."""

    model_name = "movenet-multipose"

    def _predict(self, pixels: np.ndarray, side: int | None = None) -> list[Person]:
        """People in an H×W×3 RGB image, best first, keypoints (x, y, score) in its pixels.

        ``side``: the square the image is letterboxed into (top-left, black).
        """
        side = side or self.settings.size(INPUT_SIDE)[0]
        min_score = self.settings.number("min_score", MIN_PERSON_SCORE)
        square, placement = letterbox(pixels, side)
        raw = self._output(self._input(square[None]))[0]  # 6 × 56
        scale = placement.scale
        height, width = pixels.shape[:2]
        people = []
        for row in raw:
            score = float(row[55])
            if score < min_score:
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
