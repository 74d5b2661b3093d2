"""What of a product photo the catalog indexes: objects, not photos.

A packshot is the product, so it is indexed whole. A photo of a model wearing the product shows
a person in a whole outfit, while a look's query is the crop of one garment: indexing such a photo
whole makes "a person in a kurta and leggings" the neighbour of every kurta and every legging. So
a photo that shows a person is indexed by the crop of its own garment, found the way a look finds
garments (MoveNet for the person, the garment detector for the box of the product's category),
the way visual search systems index objects rather than photos. When no box of the product's
category is found the whole photo is indexed and the row says so (``worn`` without ``crop``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.inference.garment_detector import GarmentDetector
from companion.inference.movenet import MoveNet
from companion.inference.store import ModelStore
from companion.pipeline.garments import garments_of_people
from companion.pipeline.imaging import box_area, crop
from companion.types import Box

# A garment box covering this much of the photo is the photo: cropping would only lose context.
WHOLE_PHOTO_SHARE = 0.8
INDEX_BY = ("garment", "photo")  # `index build --index-by`: object-level (default) or whole photos


@dataclass(frozen=True)
class ProductView:
    """The pixels a product is indexed by, and where they come from."""

    pixels: np.ndarray
    crop: Box | None  # the garment's box in the photo's pixels; None: the whole photo
    worn: bool  # a person was seen wearing it


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
        return ProductView(crop(pixels, box), tuple(round(v, 1) for v in box), True)
