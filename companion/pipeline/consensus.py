"""Consensus re-ranking: the catalog's own labels arrange the products a look shows.

Why: the embedding's nearest products are often near ties (the first and tenth of a shortlist
differ by about 0.03 in cosine). The retailer's feed says what each product is: its labels are
the truth for its own catalog, whatever words it uses. Two uses of them:

- agreement: the nearest products vote with their labels; a product gains a bonus for the share
  of the voters that share its article type, and its article type and colour, so a near tie goes
  to the product the neighbourhood agrees with;
- variety: each product already shown with the same article type and colour costs the next one
  a penalty, so ten near-identical answers (ten black t-shirts) make room for the nearest
  alternatives (a navy one, a black top) when the garment's colour or type is in doubt.

The weights are tuned per embedder (``python -m training.evaluate.consensus``, never on the
evaluation's queries) and live in the embedder's manifest (``extra.consensus``); without them a
look shows the plain similarity order. A feed without labels keeps that order too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion.types import Match


@dataclass(frozen=True)
class ConsensusWeights:
    type: float = 0.0  # bonus per unit share of voters with the same article type
    type_colour: float = 0.0  # bonus per unit share of voters with the same type and colour
    variety: float = 0.0  # penalty per product shown before with the same type and colour
    voters: int = 10  # nearest products whose labels vote
    pool: int = 10  # nearest products the shown ones are picked from

    @classmethod
    def of(cls, extra: dict) -> ConsensusWeights:
        """From a model manifest's ``extra``; no ``consensus`` entry means similarity order."""
        settings = extra.get("consensus") or {}
        return cls(float(settings.get("type", 0.0)), float(settings.get("type_colour", 0.0)),
                   float(settings.get("variety", 0.0)), int(settings.get("voters", cls.voters)),
                   int(settings.get("pool", cls.pool)))

    @property
    def active(self) -> bool:
        return self.type > 0 or self.type_colour > 0 or self.variety > 0


def consensus_order(scores: np.ndarray, types: Sequence[str], colours: Sequence[str],
                    weights: ConsensusWeights, count: int) -> np.ndarray:
    """Positions of the ``count`` products to show, best first, out of a pool sorted by
    similarity (``scores``, most similar first) with the products' feed labels.

    Greedy: each step shows the product with the highest similarity + agreement - variety
    penalty; ties keep the similarity order. An empty label agrees with nothing and repeats
    nothing.
    """
    scores = np.asarray(scores, dtype=np.float64)
    types, colours = np.asarray(types, dtype=str), np.asarray(colours, dtype=str)
    voters = slice(0, min(weights.voters, len(scores)))
    same_type = (types[:, None] == types[None]) & (types != "")[:, None]
    same_both = same_type & (colours[:, None] == colours[None]) & (colours != "")[:, None]
    value = (scores + weights.type * same_type[:, voters].mean(axis=1)
             + weights.type_colour * same_both[:, voters].mean(axis=1))
    if weights.variety == 0:
        return np.argsort(-value, kind="stable")[:count]
    shown: list[int] = []
    repeats = np.zeros(len(scores))
    available = np.ones(len(scores), dtype=bool)
    for _ in range(min(count, len(scores))):
        best = int(np.argmax(np.where(available, value - weights.variety * repeats, -np.inf)))
        shown.append(best)
        available[best] = False
        repeats += same_both[best]
    return np.array(shown, dtype=np.int64)


def rerank(pool: list[Match], weights: ConsensusWeights, count: int) -> list[Match]:
    """The ``count`` matches to show out of ``pool`` (a search's nearest, most similar first)."""
    if not weights.active or len(pool) < 2:
        return pool[:count]
    order = consensus_order(np.array([m.score for m in pool]),
                            [m.article_type for m in pool], [m.colour for m in pool],
                            weights, count)
    return [pool[i] for i in order]
