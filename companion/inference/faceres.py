"""Gender from a face crop with FaceRes; "unknown" below its confidence threshold.

FaceRes (HSE's age/gender network) was trained on Keras "caffe" inputs: BGR channels minus the
ImageNet mean, in 0..255. The manifest's ``extra.channel_order`` and ``extra.channel_mean`` say
so; fed plain RGB 0..255 it still answers, but worse (on faces/: right on 0.867 instead of 0.910
of the faces when forced to answer).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from companion.inference.model import InferenceModel
from companion.inference.postprocess import to_gender
from companion.types import Gender

INPUT_SIDE = 224
OUTPUT = "gender_pred/Sigmoid:0"
MIN_CONFIDENCE = 0.7  # below this the label is a coin toss: say "unknown"


class FaceRes(InferenceModel):
    """Faces (with a margin, see companion.pipeline.crops) → their gender."""

    model_name = "faceres"

    @property
    def min_confidence(self) -> float:
        return self.settings.number("min_confidence", MIN_CONFIDENCE)

    def male_probability(self, faces: list[np.ndarray]) -> np.ndarray:
        """P(male) for each face crop (RGB uint8, any size: stretched to the input square)."""
        batch = stretched(faces, self.settings.size(INPUT_SIDE),
                          self.settings.get("channel_order", "RGB"))
        tensor = self._input(batch)
        mean = self.settings.get("channel_mean", None)
        if mean is not None:
            tensor -= np.asarray(mean, dtype=np.float32)
        return self._run(tensor)[OUTPUT][:, 0]

    def _predict(self, faces: list[np.ndarray]) -> list[Gender]:
        """One Gender per face crop."""
        if not faces:
            return []
        return [to_gender(float(p), self.min_confidence) for p in self.male_probability(faces)]


def stretched(faces: list[np.ndarray], size: tuple[int, int], channel_order: str) -> np.ndarray:
    """Face crops (RGB uint8, any size) stretched to FaceRes's input ``size`` (width, height),
    in its ``channel_order``: N×H×W×3 uint8. Training (training.face) prepares faces here too."""
    batch = np.stack([
        np.asarray(Image.fromarray(np.ascontiguousarray(face)).resize(
            size, Image.Resampling.BILINEAR))
        for face in faces
    ])
    return batch[..., ::-1] if channel_order == "BGR" else batch
