"""Names for MoveNet's 17 keypoints and the visibility rule every step shares."""

from __future__ import annotations

import numpy as np

NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = 0, 1, 2, 3, 4
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW = 5, 6, 7, 8
LEFT_WRIST, RIGHT_WRIST, LEFT_HIP, RIGHT_HIP = 9, 10, 11, 12
LEFT_KNEE, RIGHT_KNEE, LEFT_ANKLE, RIGHT_ANKLE = 13, 14, 15, 16

HEAD = (NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR)
SHOULDERS = (LEFT_SHOULDER, RIGHT_SHOULDER)
HIPS = (LEFT_HIP, RIGHT_HIP)
KNEES = (LEFT_KNEE, RIGHT_KNEE)
ANKLES = (LEFT_ANKLE, RIGHT_ANKLE)
ARMS = (LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST)
MIN_KEYPOINT_SCORE = 0.3


def visible(points: np.ndarray, index: int, threshold: float = MIN_KEYPOINT_SCORE) -> bool:
    return bool(points[index, 2] >= threshold)


def visible_of(points: np.ndarray, indices: tuple[int, ...]) -> list[int]:
    return [i for i in indices if visible(points, i)]
