"""Plain data that flows between the models and the pipeline's steps. Boxes are (x1, y1, x2, y2)
in pixels.

Why here, outside both: the model wrappers (companion.inference) return it and the pipeline
(companion.pipeline) and the catalog pass it on, so neither has to import the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image. ``pixels`` may be smaller than the original (JPEG draft decoding);
    ``scale`` maps its coordinates back to the upright original (``width`` × ``height``)."""

    pixels: np.ndarray  # H×W×3 uint8 RGB
    width: int
    height: int
    scale: float = 1.0


@dataclass(frozen=True)
class Person:
    box: Box
    score: float
    keypoints: np.ndarray  # 17×3: x, y (pixels of DecodedImage.pixels), score


@dataclass(frozen=True)
class DetectedObject:
    """A COCO object (CenterNet): a bag people carry, or a person MoveNet may have missed."""

    label: str
    box: Box  # pixels of DecodedImage.pixels
    score: float


@dataclass(frozen=True)
class Gender:
    label: str  # female | male | unknown
    score: float  # confidence in the label, 0..1


@dataclass(frozen=True)
class Garment:
    category: str
    box: Box  # pixels of DecodedImage.pixels
    person: int | None
    score: float = 1.0
    whole_photo: bool = False  # the whole photo stands for it (a product photo, or a fallback)
    fine_class: str = ""  # what it is within its category (companion.pipeline.fine_classes)
    fine_score: float = 0.0  # the embedder's confidence in fine_class, 0..1


@dataclass(frozen=True)
class Match:
    id: str
    score: float
    title: str
    image_link: str
    link: str
    category: str = ""
    gender: str = ""
    price: str = ""
    availability: str = ""
    image_path: str = ""  # local copy of the product photo, when the index has one
    article_type: str = ""  # the feed's labels, for consensus re-ranking
    colour: str = ""
    crop: Box | None = None  # the garment's box in the product photo, when indexed by a crop
    shop: str = ""  # the index it comes from (its manifest's shop), when several are searched
    age_group: str = ""  # adult | kids (the feed's age_group)


@dataclass(frozen=True)
class Item:
    garment: Garment
    matches: list[Match]


@dataclass
class Look:
    """Everything one look found, in coordinates of the upright original image."""

    source: str
    width: int
    height: int
    people: list[tuple[Person, Gender]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    background: list[bool] = field(default_factory=list)  # per person: small, in the background
    timings_ms: dict[str, float] = field(default_factory=dict)
