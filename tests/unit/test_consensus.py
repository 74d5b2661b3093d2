"""Consensus re-ranking: the feed's labels decide near ties and make room for alternatives."""

from __future__ import annotations

import numpy as np
import pytest

from companion.pipeline.consensus import ConsensusWeights, consensus_order, rerank
from companion.types import Match

AGREEMENT = ConsensusWeights(type=0.01, type_colour=0.02)
VARIETY = ConsensusWeights(variety=0.02, pool=4)


def pool(*rows: tuple[float, str, str]) -> list[Match]:
    return [Match(id=str(i), score=score, title="", image_link="", link="", article_type=kind,
                  colour=colour) for i, (score, kind, colour) in enumerate(rows)]


def ids(matches: list[Match]) -> list[str]:
    return [m.id for m in matches]


def test_a_near_tie_goes_to_the_product_the_neighbours_agree_with():
    matches = pool((0.900, "Shirts", "blue"), (0.895, "Tshirts", "black"),
                   (0.885, "Tshirts", "black"))
    assert ids(rerank(matches, AGREEMENT, 3)) == ["1", "0", "2"]


def test_a_clear_lead_in_similarity_is_kept():
    matches = pool((0.950, "Shirts", "blue"), (0.900, "Tshirts", "black"),
                   (0.890, "Tshirts", "black"))
    assert ids(rerank(matches, AGREEMENT, 3)) == ["0", "1", "2"]


def test_repeats_of_one_type_and_colour_make_room_for_a_close_alternative():
    matches = pool((0.900, "Tshirts", "black"), (0.899, "Tshirts", "black"),
                   (0.898, "Tshirts", "black"), (0.890, "Tshirts", "navy blue"))
    assert ids(rerank(matches, ConsensusWeights(pool=4), 3)) == ["0", "1", "2"]
    assert ids(rerank(matches, VARIETY, 3)) == ["0", "3", "1"]


def test_variety_does_not_bring_in_a_distant_product():
    matches = pool((0.900, "Tshirts", "black"), (0.899, "Tshirts", "black"),
                   (0.898, "Tshirts", "black"), (0.700, "Tshirts", "red"))
    assert ids(rerank(matches, VARIETY, 3)) == ["0", "1", "2"]


def test_without_variety_only_the_order_changes():
    rng = np.random.default_rng(0)
    matches = pool(*[(float(s), str(t), str(c)) for s, t, c in zip(
        np.sort(rng.uniform(0.8, 0.9, 10))[::-1], rng.choice(["Tops", "Tshirts"], 10),
        rng.choice(["red", "black", "white"], 10), strict=True)])
    shown = rerank(matches, AGREEMENT, 10)
    assert sorted(ids(shown)) == sorted(ids(matches))
    assert shown != matches  # the draw above has agreement worth acting on


@pytest.mark.parametrize("labels", [("", ""), ("Tshirts", "")])
def test_missing_labels_agree_with_nothing_and_repeat_nothing(labels):
    """A feed without article types keeps the similarity order; one without colours still
    votes on types."""
    kind, colour = labels
    matches = pool((0.900, "Shirts" if kind else "", "blue" if colour else ""),
                   (0.895, kind, colour), (0.885, kind, colour))
    expected = ["0", "1", "2"] if not kind else ["1", "0", "2"]
    assert ids(rerank(matches, ConsensusWeights(type=0.02), 3)) == expected
    assert ids(rerank(matches, ConsensusWeights(type_colour=0.05, variety=0.05), 3)) == [
        "0", "1", "2"]


def test_without_weights_the_most_similar_are_shown_in_order():
    matches = pool((0.900, "Shirts", "blue"), (0.899, "Tshirts", "black"),
                   (0.898, "Tshirts", "black"))
    assert rerank(matches, ConsensusWeights(), 2) == matches[:2]
    assert list(consensus_order(np.array([0.9, 0.9, 0.8]), ["a", "b", "b"], ["x", "x", "x"],
                                ConsensusWeights(), 3)) == [0, 1, 2]


def test_weights_are_read_from_the_manifest_and_absent_means_similarity_order():
    assert not ConsensusWeights.of({}).active
    weights = ConsensusWeights.of({"consensus": {"type": 0.01, "type_colour": 0.02,
                                                 "variety": 0.03, "voters": 10, "pool": 20,
                                                 "tuned_by": "x"}})
    assert weights == ConsensusWeights(0.01, 0.02, 0.03, 10, 20)
