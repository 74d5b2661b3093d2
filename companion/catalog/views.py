"""What of a product photo the catalog indexes: objects, not photos.

A packshot is the product, so it is indexed whole. A photo of a model wearing the product shows
a person in a whole outfit, while a look's query is the crop of one garment: indexing such a photo
whole makes "a person in a kurta and leggings" the neighbour of every kurta and every legging. So
a photo that shows a person is indexed by the crop of its own garment, found the way a look finds
garments (MoveNet for the person, the garment detector for the box of the product's category),
the way visual search systems index objects rather than photos. When no box of the product's
category is found the whole photo is indexed and the row says so (``worn`` without ``crop``).

A worn product's vector is its crop's and its whole photo's, added (``embed_views``), the photo
weighed PHOTO_WEIGHT (3) against the crop. The crop alone made model shots the nearest
neighbours of every street garment crop, whatever its type, since the embedder learned from whole
catalog photos and puts crops close to crops (street jackets found 0.67 jackets instead of 0.77);
with both, worn queries keep the crop's gain and street boxes find what they found before; the
weight was chosen on the monitoring slice's looks (docs/evaluation.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from companion.inference.embedder import Embedded, Embedder, combine_views
from companion.inference.garment_detector import GarmentDetector
from companion.inference.movenet import MoveNet
from companion.inference.optimized import origin
from companion.inference.store import ModelStore
from companion.pipeline.garments import garments_of_people
from companion.pipeline.imaging import box_area, crop
from companion.types import Box

# A garment box covering this much of the photo is the photo: cropping would only lose context.
WHOLE_PHOTO_SHARE = 0.8
# The models a worn product's crop depends on (an index by garment is stale when one changes).
FINDER_MODELS = (MoveNet.model_name, GarmentDetector.model_name)
INDEX_BY = ("garment", "photo")  # `index build --index-by`: object-level (default) or whole photos


def finders_fingerprint(store: ModelStore) -> str:
    """Which models find a worn product's garment, and how: the sha256 (first 12 digits) of
    each one's file, or of the file its optimised graph was made from (a bundle's), and a digest
    of its settings (``extra``: input size, score thresholds, outfit rules), which move the
    crops as much as the weights do. What an index by garment, or a cache of crops, is stale by."""

    def settings(extra: dict) -> str:
        text = json.dumps(extra, sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    manifests = [store.manifest(name) for name in FINDER_MODELS]
    return ",".join(f"{(made.sha256 if (made := origin(m)) else m.sha256)[:12]}/"
                    f"{settings(m.extra)}" for m in manifests)


@dataclass(frozen=True)
class ProductView:
    """A product photo and what of it the product is indexed by."""

    photo: np.ndarray
    crop: Box | None  # the garment's box in the photo's pixels; None: the whole photo
    worn: bool  # a person was seen wearing it

    @property
    def pixels(self) -> np.ndarray:
        """The garment's crop, or the whole photo."""
        return self.photo if self.crop is None else crop(self.photo, self.crop)


def embed_views(embedder: Embedder, views: list[ProductView]) -> Embedded:
    """One unit vector per product: a packshot's photo; a worn product's garment crop and
    whole photo together (``combine_views``). The labels are those of what is indexed (the
    crop, or the whole photo)."""
    cropped = [i for i, view in enumerate(views) if view.crop is not None]
    embedded = embedder.embed([view.pixels for view in views]
                              + [views[i].photo for i in cropped])
    out = embedded.vectors[:len(views)].copy()
    for row, i in enumerate(cropped):
        out[i] = combine_views(out[i], embedded.vectors[len(views) + row])
    labels = {name: rows[:len(views)] for name, rows in embedded.labels.items()}
    return Embedded(out, labels, embedded.names)


def street_classes(embedded: Embedded) -> list[str]:
    """Each row's most likely street class ("" from an embedder without label outputs): kept
    per product, so the index knows which of its article types are skirts, jackets, …
    (CatalogIndex.class_types)."""
    return [embedded.best("street_class", row)[0] for row in range(len(embedded.vectors))]


class ProductViews:
    """Finds the view of each product photo; one instance per build (models load once)."""

    def __init__(self, store: ModelStore) -> None:
        self.movenet = MoveNet(store)
        self.detector = GarmentDetector(store)

    def view(self, pixels: np.ndarray, category: str) -> ProductView:
        people = self.movenet.predict(pixels)
        if not people or category not in self.detector.labels:
            return ProductView(pixels, None, bool(people))
        own = [g for g in garments_of_people(self.detector, pixels, people)
               if g.category == category]
        if not own:
            return ProductView(pixels, None, True)
        box = max(own, key=lambda g: g.score).box
        height, width = pixels.shape[:2]
        if box_area(box) >= WHOLE_PHOTO_SHARE * width * height:
            return ProductView(pixels, None, True)
        return ProductView(pixels, tuple(round(v, 1) for v in box), True)
