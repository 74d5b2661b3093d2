"""Garment crops → L2-normalised embeddings, preprocessed as the model's manifest says."""

from __future__ import annotations

import numpy as np

from companion.inference.store import ModelStore
from companion.pipeline.imaging import letterbox_centered, to_model_input

DEFAULT_EMBEDDER = "garment-embedder"
DEFAULT_INPUT_SIZE = 224
BATCH = 32


class Embedder:
    """Embeds RGB crops with one image-embedding model of the store."""

    def __init__(self, store: ModelStore, name: str = DEFAULT_EMBEDDER) -> None:
        self.store = store
        self.name = name

    @property
    def manifest(self):
        return self.store.get(self.name).manifest

    @property
    def ndim(self) -> int:
        return int(self.manifest.outputs[0].shape[-1])

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """One row per crop (H×W×3 uint8 RGB), unit length, float32."""
        model = self.store.get(self.name)
        if not crops:
            return np.zeros((0, self.ndim), dtype=np.float32)
        rows = []
        for start in range(0, len(crops), BATCH):
            squares = np.stack([self.square(c) for c in crops[start : start + BATCH]])
            batch = to_model_input(squares, model.manifest.input)
            output = next(iter(model.run({model.manifest.input.name: batch}).values()))
            rows.append(output.reshape(len(batch), -1))
        vectors = np.concatenate(rows).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def square(self, crop: np.ndarray) -> np.ndarray:
        """The crop letterboxed into the model's square input, as the manifest's extra says."""
        extra = self.manifest.extra
        size = int(extra.get("input_size", DEFAULT_INPUT_SIZE))
        fill = tuple(extra.get("fill", (255, 255, 255)))
        return letterbox_centered(crop, size, fill)
