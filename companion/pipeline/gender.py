"""Gender from a face crop with FaceRes; "unknown" when there is no face or little confidence."""

from __future__ import annotations

import numpy as np
from PIL import Image

from companion.inference.store import ModelStore
from companion.pipeline.imaging import to_model_input
from companion.pipeline.types import Gender

MODEL = "faceres"
INPUT_SIDE = 224
OUTPUT = "gender_pred/Sigmoid:0"
MIN_CONFIDENCE = 0.7  # below this the label is a coin toss: say "unknown"


def classify_faces(store: ModelStore, faces: list[np.ndarray]) -> list[Gender]:
    """One Gender per face crop (RGB uint8, any size)."""
    if not faces:
        return []
    model = store.get(MODEL)
    size = (INPUT_SIDE, INPUT_SIDE)
    batch = np.stack([
        np.asarray(Image.fromarray(face).resize(size, Image.Resampling.BILINEAR)) for face in faces
    ])
    feeds = {model.manifest.input.name: to_model_input(batch, model.manifest.input)}
    male = model.run(feeds)[OUTPUT][:, 0]
    return [to_gender(float(p)) for p in male]


def to_gender(male_probability: float, min_confidence: float = MIN_CONFIDENCE) -> Gender:
    label = "male" if male_probability >= 0.5 else "female"
    confidence = male_probability if label == "male" else 1.0 - male_probability
    if confidence < min_confidence:
        return Gender("unknown", round(confidence, 4))
    return Gender(label, round(confidence, 4))


UNKNOWN = Gender("unknown", 0.0)
