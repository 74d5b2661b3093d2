"""Which index a product belongs in, from its feed's product_type or Google category."""

from __future__ import annotations

from functools import lru_cache

# Checked in order against the product_type path (most specific words first).
PRODUCT_TYPE_RULES = (
    ("dress", ("dress", "jumpsuit")),
    ("topwear", ("topwear", "shirt", "top", "jacket", "sweater", "blazer", "coat", "outerwear")),
    ("bottomwear", ("bottomwear", "jeans", "trousers", "pants", "shorts", "skirt", "leggings")),
    ("footwear", ("footwear", "shoes", "sandal", "flip flops", "heels", "flats", "boots")),
    ("bag", ("bags", "handbag", "backpack", "clutch", "rucksack", "duffel", "messenger")),
)
GOOGLE_CATEGORY_RULES = (
    ("dress", ("clothing > dresses", "clothing > one-pieces")),
    ("topwear", ("clothing > shirts & tops", "clothing > outerwear", "clothing > suits")),
    ("bottomwear", ("clothing > pants", "clothing > shorts", "clothing > skirts")),
    ("footwear", ("shoes",)),
    ("bag", ("handbags", "luggage & bags")),
)


@lru_cache(maxsize=4096)  # a feed repeats a few hundred paths over thousands of rows
def category_of(product_type: str, google_product_category: str = "") -> str:
    """topwear | bottomwear | footwear | dress | bag | other."""
    # Match product_type path segments, deepest first: "Apparel > Dress > Dresses" is a dress.
    for segment in reversed([s.strip().lower() for s in product_type.split(">")]):
        for category, needles in PRODUCT_TYPE_RULES:
            if any(segment == n or segment.startswith(n) or segment.endswith(n) for n in needles):
                return category
    google = google_product_category.lower()
    for category, needles in GOOGLE_CATEGORY_RULES:
        if any(n in google for n in needles):
            return category
    return "other"
