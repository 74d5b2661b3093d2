"""The category vote for crops nobody labelled (product photos, drawn regions)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from companion.catalog.index import CatalogIndex
from companion.types import Match

VOTERS = 15  # nearest products that vote on an unlabelled crop's category


def vote_category(
    index: CatalogIndex, vector: np.ndarray, candidates: list[str] | None = None
) -> tuple[str, float]:
    """The category most of the nearest products (over all candidate categories) belong to.

    Returns (category, share of the votes). Used for product photos (no person) and for a
    region the user drew.
    """
    pool: list[Match] = []
    for category in candidates or index.categories:
        pool.extend(index.search(category, vector, VOTERS))
    if not pool:
        return "other", 0.0
    nearest = sorted(pool, key=lambda m: -m.score)[:VOTERS]
    votes = Counter(m.category for m in nearest)
    category, count = votes.most_common(1)[0]
    return category, count / len(nearest)
