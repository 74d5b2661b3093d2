"""The most confident face of a picture, from BlazeFace (the 256-pixel, back-camera model)."""

from __future__ import annotations

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.preprocess import letterbox
from companion.types import Box

INPUT_SIDE = 256
MIN_FACE_SCORE = 0.6
# Inside the head box of a person facing the camera a face is expected: a lower score suffices
# there (companion.pipeline.crops.face_box). At half size and JPEG quality 70 a real face often
# scores 0.4-0.6 and was dropped, so that person's gender rested on the body alone in that variant.
HEAD_MIN_FACE_SCORE = 0.4
# (logits output, regressor output, grid size, anchors per cell) of the 256-px BlazeFace.
ANCHOR_HEADS = (("Identity:0", "Identity_2:0", 16, 2), ("Identity_1:0", "Identity_3:0", 8, 6))


class BlazeFace(InferenceModel):
    """Face boxes; the pipeline asks it about a head crop to confirm and tighten the face."""

    model_name = "blazeface"

    @property
    def head_min_score(self) -> float:
        """The score a face needs inside a head box (manifest ``head_min_score``)."""
        return self.settings.number("head_min_score", HEAD_MIN_FACE_SCORE)

    def _predict(self, pixels: np.ndarray, min_score: float | None = None
                 ) -> tuple[Box, float] | None:
        """The most confident face in an H×W×3 RGB image (box in its pixels, score), or None
        when it scores under ``min_score`` (default: the manifest's ``min_score``)."""
        side = self.settings.size(INPUT_SIDE)[0]
        square, placement = letterbox(pixels, side)
        outputs = self._run(self._input(square[None]))
        best: tuple[float, Box] | None = None
        for logits_name, regress_name, grid, per_cell in ANCHOR_HEADS:
            scores = 1.0 / (1.0 + np.exp(-np.clip(outputs[logits_name][0, :, 0], -80, 80)))
            index = int(scores.argmax())
            if best is not None and scores[index] <= best[0]:
                continue
            cell_y, cell_x = divmod(index // per_cell, grid)
            anchor_x = (cell_x + 0.5) / grid * side
            anchor_y = (cell_y + 0.5) / grid * side
            dx, dy, w, h = outputs[regress_name][0, index, :4]
            cx, cy = anchor_x + dx, anchor_y + dy
            corners = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            box = tuple(v / placement.scale for v in corners)
            best = (float(scores[index]), box)
        if min_score is None:
            min_score = self.settings.number("min_score", MIN_FACE_SCORE)
        if best is None or best[0] < min_score:
            return None
        return best[1], best[0]
