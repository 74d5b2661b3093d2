"""Garments by name: what a garment is within its category (a skirt, not just bottomwear), and
which of the catalog's products fit it.

Why: the garment detector finds five categories, but a shopper looks for a skirt, a jacket,
shoes. The embedder's street-class head (trained on the street data's garment classes, exposed
by training.convert.label_outputs) names the garment within its category, from the same run
that embeds it. The catalog index knows which of its own article types are which class
(CatalogIndex.class_types, from its products' photos when it was built), so a skirt's row
shows the catalog's skirts first and its other bottomwear after.
"""

from __future__ import annotations

from companion.inference.embedder import Embedded
from companion.types import Match

# The street classes a garment of each category can be; one class: nothing to choose.
CLASSES_OF = {
    "topwear": ("shirt", "jacket"),
    "bottomwear": ("pants", "shorts", "skirt"),
    "dress": ("dress",),
    "footwear": ("shoe",),
    "bag": ("bag",),
}
# How the look names a class: a footwear row is the pair.
SHOWN_AS = {"shoe": "shoes"}
SHOWN = ("shirt", "jacket", "pants", "shorts", "skirt", "dress", "shoes", "bag")


def fine_class(embedded: Embedded, row: int, category: str) -> tuple[str, float]:
    """(class as the look shows it, confidence) of crop ``row`` of a garment of ``category``;
    ("", 0.0) for a category without classes or an embedder without the street-class head."""
    classes = CLASSES_OF.get(category)
    if not classes:
        return "", 0.0
    name, score = embedded.best("street_class", row, list(classes))
    if not name:
        return "", 0.0
    return SHOWN_AS.get(name, name), round(score, 4)


def street_class(shown: str) -> str:
    """The street class behind a shown class name (shoes → shoe)."""
    return next((k for k, v in SHOWN_AS.items() if v == shown), shown)


def fitting_first(pool: list[Match], fitting: frozenset[str]) -> tuple[list[Match], list[Match]]:
    """``pool`` split into the products whose article type fits the garment's class and the
    rest, each in its own order."""
    first = [m for m in pool if m.article_type in fitting]
    return first, [m for m in pool if m.article_type not in fitting]
