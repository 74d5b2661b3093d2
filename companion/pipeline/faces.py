"""A person's face: a head crop from the keypoints, confirmed and tightened by BlazeFace."""

from __future__ import annotations

import numpy as np

from companion.inference.store import ModelStore
from companion.pipeline.imaging import crop, letterbox, to_model_input
from companion.pipeline.keypoints import HEAD, LEFT_SHOULDER, RIGHT_SHOULDER, visible
from companion.pipeline.types import Box, Person

MODEL = "blazeface"
INPUT_SIDE = 256
MIN_FACE_SCORE = 0.6
FACE_MARGIN = 0.25  # of the face box's longer side, on every side
# (logits output, regressor output, grid size, anchors per cell) of the 256-px BlazeFace.
ANCHOR_HEADS = (("Identity:0", "Identity_2:0", 16, 2), ("Identity_1:0", "Identity_3:0", 8, 6))


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


def detect_face(store: ModelStore, pixels: np.ndarray) -> tuple[Box, float] | None:
    """The most confident face in ``pixels`` (box in its pixels, score), or None."""
    model = store.get(MODEL)
    square, scale = letterbox(pixels, INPUT_SIDE)
    feeds = {model.manifest.input.name: to_model_input(square[None], model.manifest.input)}
    outputs = model.run(feeds)
    best: tuple[float, Box] | None = None
    for logits_name, regress_name, grid, per_cell in ANCHOR_HEADS:
        scores = 1.0 / (1.0 + np.exp(-np.clip(outputs[logits_name][0, :, 0], -80, 80)))
        index = int(scores.argmax())
        if best is not None and scores[index] <= best[0]:
            continue
        cell_y, cell_x = divmod(index // per_cell, grid)
        anchor_x = (cell_x + 0.5) / grid * INPUT_SIDE
        anchor_y = (cell_y + 0.5) / grid * INPUT_SIDE
        dx, dy, w, h = outputs[regress_name][0, index, :4]
        cx, cy = anchor_x + dx, anchor_y + dy
        box = tuple(v / scale for v in (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        best = (float(scores[index]), box)
    if best is None or best[0] < MIN_FACE_SCORE:
        return None
    return best[1], best[0]


def face_box_with_margin(store: ModelStore, pixels: np.ndarray) -> Box | None:
    """The most confident face in ``pixels``, widened as FaceRes wants it; None if none."""
    found = detect_face(store, pixels)
    if found is None:
        return None
    (x1, y1, x2, y2), _ = found
    margin = FACE_MARGIN * max(x2 - x1, y2 - y1)
    return (x1 - margin, y1 - margin, x2 + margin, y2 + margin)


def face_crop(store: ModelStore, pixels: np.ndarray, person: Person) -> np.ndarray | None:
    """The person's face with a margin, ready for the gender model; None when no face shows."""
    head = head_box(person)
    if head is None:
        return None
    face = face_box_with_margin(store, crop(pixels, head))
    if face is None:
        return None
    left, top = head[0], head[1]
    return crop(pixels, (face[0] + left, face[1] + top, face[2] + left, face[3] + top))
