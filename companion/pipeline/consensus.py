"""Consensus re-ranking: the catalog's own labels reorder a garment's shortlist.

Why: the embedding's nearest products are often near ties (the first and tenth of a shortlist
differ by about 0.03 in cosine). When most of the shortlist agrees on an article type and a
colour, the product that shares them is the better first answer, and the retailer's feed says
which products do: its labels are the truth for its own catalog, whatever words it uses. Only the
order changes, never which products are on the shortlist.

The weights are tuned per embedder (``scripts/tune_consensus.py``, never on the evaluation's
queries) and live in the embedder's manifest (``extra.consensus``); without them nothing moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion.pipeline.types import Match


@dataclass(frozen=True)
class ConsensusWeights:
    """Score bonus per unit of agreement (share of the shortlist sharing a product's labels)."""

    type: float = 0.0  # same article type
    type_colour: float = 0.0  # same article type and same colour
    shortlist: int = 10  # products searched, voted on and reordered

    @classmethod
    def of(cls, extra: dict) -> ConsensusWeights:
        """From a model manifest's ``extra``; no ``consensus`` entry means no re-ranking."""
        settings = extra.get("consensus") or {}
        return cls(float(settings.get("type", 0.0)), float(settings.get("type_colour", 0.0)),
                   int(settings.get("shortlist", cls.shortlist)))

    @property
    def active(self) -> bool:
        return self.type > 0 or self.type_colour > 0


def consensus_order(scores: np.ndarray, types: Sequence[str], colours: Sequence[str],
                    weights: ConsensusWeights) -> np.ndarray:
    """Positions that sort a shortlist by similarity plus label agreement (stable on ties).

    ``types`` and ``colours`` are the shortlisted products' labels; an empty label agrees with
    nothing, so a feed without labels keeps the similarity order.
    """
    types, colours = np.asarray(types, dtype=str), np.asarray(colours, dtype=str)
    same_type = (types[:, None] == types[None]) & (types != "")[:, None]
    same_colour = (colours[:, None] == colours[None]) & (colours != "")[:, None]
    agreement = (weights.type * same_type.mean(axis=1)
                 + weights.type_colour * (same_type & same_colour).mean(axis=1))
    return np.argsort(-(np.asarray(scores, dtype=np.float64) + agreement), kind="stable")


def rerank(matches: list[Match], weights: ConsensusWeights) -> list[Match]:
    """``matches`` (a search's shortlist, best first) in consensus order."""
    if not weights.active or len(matches) < 2:
        return matches
    order = consensus_order(np.array([m.score for m in matches]),
                            [m.article_type for m in matches], [m.colour for m in matches],
                            weights)
    return [matches[i] for i in order]
