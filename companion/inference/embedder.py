"""Garment crops → L2-normalised embeddings, preprocessed as the model's manifest says."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from companion.inference.model import InferenceModel
from companion.inference.preprocess import letterbox

DEFAULT_EMBEDDER = "garment-embedder"
DEFAULT_INPUT_SIZE = 224
DEFAULT_FILL = (255, 255, 255)
BATCH = 32


# Of the whole photo's vector next to the garment crop's, in combine_views: chosen on the
# monitoring slice's looks (index rows held out of training) against an index without them, type
# R@1 + type+colour R@1 and R@10 at 1 / 3 / 6: 2.160 / 2.179 / 2.172 (docs/evaluation.md). An
# index records the weight it was built with (IndexManifest.photo_weight), and a look asks with it.
PHOTO_WEIGHT = 3.0


def combine_views(garment: np.ndarray, photo: np.ndarray, photo_weight: float = PHOTO_WEIGHT
                  ) -> np.ndarray:
    """One unit vector for a garment seen two ways, its crop and the whole photo it is worn in:
    how the catalog indexes a worn product, and how a studio shot's featured garment asks."""
    both = garment + photo_weight * photo
    return both / max(float(np.linalg.norm(both)), 1e-12)


@dataclass(frozen=True)
class Embedded:
    """Crops as the embedder sees them: one unit vector per crop, and, from an embedder with
    label outputs (training.convert.label_outputs), what each crop looks like to its label
    heads: ``labels[output]`` is an N×K array of probabilities over ``names[output]``."""

    vectors: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)

    def best(self, output: str, row: int, among: list[str] | None = None) -> tuple[str, float]:
        """The most likely label of ``output`` for crop ``row`` (within ``among``, renormalised),
        with its probability; ("", 0.0) when the embedder has no such output."""
        if output not in self.labels:
            return "", 0.0
        names = self.names[output]
        columns = [names.index(n) for n in (among or names) if n in names]
        if not columns:
            return "", 0.0
        scores = self.labels[output][row, columns]
        best = int(np.argmax(scores))
        return names[columns[best]], float(scores[best] / max(float(scores.sum()), 1e-12))


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

    def label_names(self) -> dict[str, list[str]]:
        """The labels of each label output the model has (none for an embedder without them)."""
        manifest = self.manifest
        parts = manifest.provenance.get("parts", {}).get("classes", {})
        heads = manifest.provenance.get("label_heads", {}).get("classes", {})
        known = {
            "article_type": parts.get("type", []),
            "street_class": self.settings.get("street_classes", []),
            "gender": ["female", "male"],
            "colour": heads.get("colour", []),
        }
        return {o.name: known[o.name] for o in manifest.outputs[1:] if known.get(o.name)}

    def _predict(self, crops: list[np.ndarray]) -> np.ndarray:
        """One row per crop (H×W×3 uint8 RGB), unit length, float32."""
        return self.embed(crops).vectors

    def embed(self, crops: list[np.ndarray]) -> Embedded:
        """The crops' vectors (as ``predict``) and their label outputs, from one run."""
        self.load()
        names = self.label_names()
        if not crops:
            return Embedded(np.zeros((0, self.ndim), dtype=np.float32),
                            {k: np.zeros((0, len(v)), np.float32) for k, v in names.items()},
                            names)
        rows: list[np.ndarray] = []
        labels: dict[str, list[np.ndarray]] = {name: [] for name in names}
        embedding = self.manifest.outputs[0].name
        for start in range(0, len(crops), BATCH):
            batch = self._input(np.stack([self.square(c) for c in crops[start : start + BATCH]]))
            outputs = self._run(batch)
            rows.append(outputs[embedding].reshape(len(batch), -1))
            for name in names:
                labels[name].append(outputs[name])
        vectors = np.concatenate(rows).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return Embedded(vectors / np.maximum(norms, 1e-12),
                        {k: np.concatenate(v).astype(np.float32) for k, v in labels.items()},
                        names)
