"""The crops of a person the models see: the head (from keypoints), the face in it (confirmed and
tightened by BlazeFace, widened for FaceRes) and the whole body (for the body model)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from companion.inference.blazeface import BlazeFace
from companion.pipeline.imaging import crop
from companion.pipeline.keypoints import (
    HEAD,
    LEFT_EYE,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_EYE,
    RIGHT_SHOULDER,
    visible,
)
from companion.types import Box, Person

FACE_MARGIN = 0.25  # of the face box's longer side, on every side: the context FaceRes wants
# A face turned to the camera: MoveNet sees the nose and both eyes at least this surely. Only then
# does a face scoring under BlazeFace's own threshold count (its ``head_min_score``): on street
# photos served small and compressed such faces are real (their keypoints score 0.45 or more),
# while on low-resolution pedestrians seen from behind they were mostly not, and FaceRes guessed.
FACING_KEYPOINT_SCORE = 0.45


def head_box(person: Person) -> Box | None:
    """A generous square around the head, from face and shoulder keypoints; None if hidden."""
    points = person.keypoints
    head = [i for i in HEAD if visible(points, i)]
    if not head:
        return None
    xs, ys = points[head, 0], points[head, 1]
    cx, cy = float(xs.mean()), float(ys.mean())
    spread = float(max(np.ptp(xs), np.ptp(ys)))
    shoulders = [i for i in (LEFT_SHOULDER, RIGHT_SHOULDER) if visible(points, i)]
    if len(shoulders) == 2:
        spread = max(spread, 0.5 * float(abs(points[LEFT_SHOULDER, 0] - points[RIGHT_SHOULDER, 0])))
    person_height = person.box[3] - person.box[1]
    half = max(spread * 1.6, person_height * 0.06, 12.0)
    return (cx - half, cy - half, cx + half, cy + half)


def widened(box: Box, margin: float) -> Box:
    """``box`` grown by ``margin`` of its longer side on every side (not clipped)."""
    x1, y1, x2, y2 = box
    grow = margin * max(x2 - x1, y2 - y1)
    return (x1 - grow, y1 - grow, x2 + grow, y2 + grow)


def shrunk(view: np.ndarray, factor: float) -> np.ndarray:
    """``view`` scaled down by ``factor`` (Lanczos, so the detail it drops is averaged away, not
    aliased); unchanged when ``factor`` is 1 or more: enlarging adds nothing."""
    if factor >= 1.0:
        return view
    height, width = view.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(view)).resize(
        size, Image.Resampling.LANCZOS))


def face_box_with_margin(faces: BlazeFace, pixels: np.ndarray) -> Box | None:
    """The most confident face in ``pixels``, widened as FaceRes wants it; None if none."""
    found = faces.predict(pixels)
    return None if found is None else widened(found[0], FACE_MARGIN)


def face_box(faces: BlazeFace, pixels: np.ndarray, person: Person) -> Box | None:
    """The person's face (BlazeFace's box, no margin, in pixels of ``pixels``), looked for in the
    head box the keypoints give; None when the head is hidden or no face shows there. When the
    keypoints say the person faces the camera, a face is expected there and BlazeFace's
    ``head_min_score`` is enough; otherwise its usual ``min_score``."""
    head = head_box(person)
    if head is None:
        return None
    facing = all(visible(person.keypoints, i, FACING_KEYPOINT_SCORE)
                 for i in (NOSE, LEFT_EYE, RIGHT_EYE))
    found = faces.predict(crop(pixels, head), min_score=faces.head_min_score if facing else None)
    if found is None:
        return None
    (x1, y1, x2, y2), _ = found
    left, top = head[0], head[1]
    return (x1 + left, y1 + top, x2 + left, y2 + top)


def face_crop(faces: BlazeFace, pixels: np.ndarray, person: Person) -> np.ndarray | None:
    """The person's face with a margin, ready for the gender model; None when no face shows."""
    face = face_box(faces, pixels, person)
    return None if face is None else crop(pixels, widened(face, FACE_MARGIN))


def expand_box(box: Box, width: int, height: int, margin: float) -> Box:
    """The person box grown by ``margin`` (of its width/height) on every side, clipped to the
    image."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    return (max(0.0, x1 - dx), max(0.0, y1 - dy), min(float(width), x2 + dx),
            min(float(height), y2 + dy))


def body_crop(pixels: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """The person's pixels with a margin (at least one pixel): what the body model was trained on
    (its manifest's ``crop_margin``, BodyGender.margin)."""
    height, width = pixels.shape[:2]
    return crop(pixels, expand_box(box, width, height, margin))
