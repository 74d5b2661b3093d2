"""Garment crops → L2-normalised embeddings, preprocessed as the model's manifest says."""

from __future__ import annotations

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.preprocess import letterbox

DEFAULT_EMBEDDER = "garment-embedder"
DEFAULT_INPUT_SIZE = 224
DEFAULT_FILL = (255, 255, 255)
BATCH = 32


PHOTO_WEIGHT = 1.0  # of the whole photo's vector next to the garment crop's, in combine_views


def combine_views(garment: np.ndarray, photo: np.ndarray, photo_weight: float = PHOTO_WEIGHT
                  ) -> np.ndarray:
    """One unit vector for a garment seen two ways, its crop and the whole photo it is worn in:
    how the catalog indexes a worn product, and how a studio shot's featured garment asks."""
    both = garment + photo_weight * photo
    return both / max(float(np.linalg.norm(both)), 1e-12)


class Embedder(InferenceModel):
    """Embeds RGB crops with one image-embedding model of the store (the garment embedder unless
    named otherwise); the catalog index and the looks must use the same one."""

    model_name = DEFAULT_EMBEDDER

    @property
    def ndim(self) -> int:
        return int(self.manifest.outputs[0].shape[-1])

    def square(self, crop: np.ndarray) -> np.ndarray:
        """The crop letterboxed into the model's square input (centred, on the manifest's fill)."""
        fill = tuple(self.settings.get("fill", DEFAULT_FILL))
        return letterbox(crop, self.settings.size(DEFAULT_INPUT_SIZE), fill, centre=True)[0]

    def _predict(self, crops: list[np.ndarray]) -> np.ndarray:
        """One row per crop (H×W×3 uint8 RGB), unit length, float32."""
        if not crops:
            return np.zeros((0, self.ndim), dtype=np.float32)
        rows = []
        for start in range(0, len(crops), BATCH):
            batch = self._input(np.stack([self.square(c) for c in crops[start : start + BATCH]]))
            rows.append(self._output(batch).reshape(len(batch), -1))
        vectors = np.concatenate(rows).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
