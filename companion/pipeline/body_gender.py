"""Gender from the whole body (``models/body-gender``): the fallback when no face shows.

Why: the face model says "unknown" for people seen from behind, from afar or with the head cut
off, which is most street photos of outfits. This classifier looks at the person's crop instead
(silhouette, hair, clothing). It is less sure than a clear face, so the pipeline asks it only
when the face gave no answer, and it too says "unknown" below its confidence threshold.
The crop preparation here is also what ``scripts/train_gender.py`` trains on, so it lives in one
place.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from companion.inference.store import ModelStore
from companion.pipeline.types import Box, Gender

MODEL = "body-gender"
BATCH = 16
DEFAULT_MARGIN = 0.08  # of the box's width/height on every side: room for hair and shoes
DEFAULT_MIN_CONFIDENCE = 0.7


def expand_box(box: Box, width: int, height: int, margin: float = DEFAULT_MARGIN) -> Box:
    """The person box grown by ``margin`` on every side, clipped to the image."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    return (max(0.0, x1 - dx), max(0.0, y1 - dy), min(float(width), x2 + dx),
            min(float(height), y2 + dy))


def body_crop(pixels: np.ndarray, box: Box, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """The person's pixels with a margin (at least one pixel)."""
    height, width = pixels.shape[:2]
    x1, y1, x2, y2 = expand_box(box, width, height, margin)
    x1, y1 = int(x1), int(y1)
    x2, y2 = max(round(x2), x1 + 1), max(round(y2), y1 + 1)
    return pixels[y1:y2, x1:x2]


def prepare(crop: np.ndarray, width: int, height: int, fill: int = 114) -> np.ndarray:
    """Fit a crop into width×height (centred, grey padding) as CHW float32 in 0..1."""
    crop_h, crop_w = crop.shape[:2]
    scale = min(width / crop_w, height / crop_h)
    new_w, new_h = max(1, round(crop_w * scale)), max(1, round(crop_h * scale))
    resized = Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.BILINEAR)
    canvas = np.full((height, width, 3), fill, dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = np.asarray(resized)
    return (canvas.astype(np.float32) / 255.0).transpose(2, 0, 1)


def to_gender(male_probability: float, min_confidence: float) -> Gender:
    """A label with its confidence; "unknown" when the model is not sure enough."""
    label = "male" if male_probability >= 0.5 else "female"
    confidence = male_probability if label == "male" else 1.0 - male_probability
    return Gender(label if confidence >= min_confidence else "unknown", round(confidence, 4))


class BodyGender:
    """The body classifier with its manifest's input size and threshold."""

    def __init__(self, store: ModelStore, name: str = MODEL) -> None:
        self.model = store.get(name)
        spec = self.model.manifest.input
        self.height, self.width = int(spec.shape[2]), int(spec.shape[3])
        extra = self.model.manifest.extra
        self.min_confidence = float(extra.get("min_confidence", DEFAULT_MIN_CONFIDENCE))
        self.margin = float(extra.get("crop_margin", DEFAULT_MARGIN))
        self.fill = int(extra.get("pad_value", 114))

    def male_probability(self, crops: list[np.ndarray]) -> np.ndarray:
        """P(male) for each person crop (H×W×3 uint8 RGB)."""
        if not crops:
            return np.zeros(0, dtype=np.float32)
        name = self.model.manifest.input.name
        out = []
        for start in range(0, len(crops), BATCH):
            batch = np.stack([
                prepare(c, self.width, self.height, self.fill) for c in crops[start : start + BATCH]
            ])
            out.append(next(iter(self.model.run({name: batch}).values())).reshape(-1))
        return np.concatenate(out).astype(np.float32)

    def classify(self, crops: list[np.ndarray]) -> list[Gender]:
        """One Gender per person crop."""
        return [to_gender(float(p), self.min_confidence) for p in self.male_probability(crops)]

    def classify_people(self, pixels: np.ndarray, boxes: list[Box]) -> list[Gender]:
        """One Gender per person box of an image, cropped the way the model was trained."""
        return self.classify([body_crop(pixels, box, self.margin) for box in boxes])


def with_body_fallback(
    classifier: BodyGender, pixels: np.ndarray, boxes: list[Box], faces: list[Gender]
) -> list[Gender]:
    """Face answers where there are some; the body's answer for people whose face said unknown."""
    unknown = [i for i, g in enumerate(faces) if g.label == "unknown"]
    if not unknown:
        return list(faces)
    answers = iter(classifier.classify_people(pixels, [boxes[i] for i in unknown]))
    return [next(answers) if g.label == "unknown" else g for g in faces]
