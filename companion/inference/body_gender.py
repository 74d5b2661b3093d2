"""Gender from the whole body (``models/body-gender``): the fallback when no face shows.

Why: the face model says "unknown" for people seen from behind, from afar or with the head cut
off, which is most street photos of outfits. This classifier looks at the person's crop instead
(silhouette, hair, clothing; see companion.pipeline.crops.body_crop). It is less sure than a clear
face, so the pipeline asks it only when the face gave no answer, and it too says "unknown" below
its confidence threshold. ``prepare`` is also what the training feeds the model, so it lives in
one place.
"""

from __future__ import annotations

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.postprocess import to_gender
from companion.inference.preprocess import letterbox
from companion.types import Gender

BATCH = 16
INPUT_SIZE = (128, 256)  # width, height
DEFAULT_MARGIN = 0.08  # of the box's width/height on every side: room for hair and shoes
DEFAULT_MIN_CONFIDENCE = 0.7
PAD_VALUE = 114


def prepare(crop: np.ndarray, width: int, height: int, fill: int = PAD_VALUE) -> np.ndarray:
    """Fit a crop into width×height (centred, grey padding) as CHW float32 in 0..1."""
    canvas, _ = letterbox(crop, (width, height), fill, centre=True)
    return (canvas.astype(np.float32) / 255.0).transpose(2, 0, 1)


class BodyGender(InferenceModel):
    """Person crops → their gender, with the manifest's input size, margin and threshold."""

    model_name = "body-gender"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the model's input."""
        return self.settings.size(INPUT_SIZE)

    @property
    def min_confidence(self) -> float:
        return self.settings.number("min_confidence", DEFAULT_MIN_CONFIDENCE)

    @property
    def margin(self) -> float:
        """The margin around a person box the model was trained with (for body_crop)."""
        return self.settings.number("crop_margin", DEFAULT_MARGIN)

    def male_probability(self, crops: list[np.ndarray]) -> np.ndarray:
        """P(male) for each person crop (H×W×3 uint8 RGB)."""
        if not crops:
            return np.zeros(0, dtype=np.float32)
        (width, height), fill = self.size, int(self.settings.number("pad_value", PAD_VALUE))
        out = []
        for start in range(0, len(crops), BATCH):
            chunk = crops[start : start + BATCH]
            batch = np.stack([prepare(c, width, height, fill) for c in chunk])
            out.append(self._output(batch).reshape(-1))
        return np.concatenate(out).astype(np.float32)

    def _predict(self, crops: list[np.ndarray]) -> list[Gender]:
        """One Gender per person crop."""
        return [to_gender(float(p), self.min_confidence) for p in self.male_probability(crops)]
