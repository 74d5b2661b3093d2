"""Consensus re-ranking: the feed's labels reorder a shortlist, never change what is on it."""

from __future__ import annotations

import numpy as np
import pytest

from companion.pipeline.consensus import ConsensusWeights, consensus_order, rerank
from companion.pipeline.embed import Embedder
from companion.pipeline.look import LookRequest
from companion.pipeline.types import Match
from tests.conftest import requires_data, street_photo

WEIGHTS = ConsensusWeights(type=0.01, type_colour=0.02, shortlist=10)


def shortlist(*rows: tuple[float, str, str]) -> list[Match]:
    return [Match(id=str(i), score=score, title="", image_link="", link="", article_type=kind,
                  colour=colour) for i, (score, kind, colour) in enumerate(rows)]


def ids(matches: list[Match]) -> list[str]:
    return [m.id for m in matches]


def test_a_near_tie_goes_to_the_product_the_shortlist_agrees_with():
    matches = shortlist((0.900, "Shirts", "blue"), (0.895, "Tshirts", "black"),
                        (0.885, "Tshirts", "black"))
    assert ids(rerank(matches, WEIGHTS)) == ["1", "0", "2"]


def test_a_clear_lead_in_similarity_is_kept():
    matches = shortlist((0.950, "Shirts", "blue"), (0.900, "Tshirts", "black"),
                        (0.890, "Tshirts", "black"))
    assert ids(rerank(matches, WEIGHTS)) == ["0", "1", "2"]


def test_only_the_order_changes():
    rng = np.random.default_rng(0)
    matches = shortlist(*[(float(s), str(t), str(c)) for s, t, c in zip(
        np.sort(rng.uniform(0.8, 0.9, 10))[::-1], rng.choice(["Tops", "Tshirts"], 10),
        rng.choice(["red", "black", "white"], 10), strict=True)])
    reordered = rerank(matches, WEIGHTS)
    assert sorted(ids(reordered)) == sorted(ids(matches))
    assert reordered != matches  # the draw above has agreement worth acting on


@pytest.mark.parametrize("labels", [("", ""), ("Tshirts", "")])
def test_missing_labels_agree_with_nothing(labels):
    """A feed without article types keeps the similarity order; one without colours still
    votes on types."""
    kind, colour = labels
    matches = shortlist((0.900, "Shirts" if kind else "", "blue" if colour else ""),
                        (0.895, kind, colour), (0.885, kind, colour))
    expected = ["0", "1", "2"] if not kind else ["1", "0", "2"]
    assert ids(rerank(matches, ConsensusWeights(type=0.02, type_colour=0.0))) == expected
    assert ids(rerank(matches, ConsensusWeights(type=0.0, type_colour=0.05))) == ["0", "1", "2"]


def test_without_weights_nothing_moves():
    matches = shortlist((0.900, "Shirts", "blue"), (0.899, "Tshirts", "black"),
                        (0.898, "Tshirts", "black"))
    assert rerank(matches, ConsensusWeights()) == matches
    assert list(consensus_order(np.array([0.9, 0.9, 0.8]), ["a", "b", "b"], ["x", "x", "x"],
                                ConsensusWeights())) == [0, 1, 2]


def test_weights_are_read_from_the_manifest_and_absent_means_off():
    assert not ConsensusWeights.of({}).active
    weights = ConsensusWeights.of({"consensus": {"type": 0.01, "type_colour": 0.02,
                                                 "shortlist": 12, "tuned_by": "x"}})
    assert weights == ConsensusWeights(0.01, 0.02, 12)


@requires_data
def test_the_shipped_embedder_carries_tuned_consensus_weights(store):
    extra = Embedder(store).manifest.extra
    assert ConsensusWeights.of(extra).active
    tuning = extra["consensus"]["tuning_scores"]
    assert sum(tuning["consensus"]) > sum(tuning["similarity_alone"])


@requires_data
def test_index_matches_carry_the_feed_labels_the_vote_needs(small_index, store):
    vector = Embedder(store).embed([np.full((80, 60, 3), 200, np.uint8)])[0]
    matches = small_index.search("footwear", vector, 10)
    assert all(m.article_type and m.colour for m in matches)
    row = small_index.product(matches[0].id)
    assert (matches[0].article_type, matches[0].colour) == (row["article_type"], row["color"])


@requires_data
def test_a_look_shows_its_shortlist_in_consensus_order(pipeline):
    """Similarity plus agreement never rises down the list a look returns."""
    look = pipeline.run(street_photo("ccp_0003.jpg"), "ccp_0003.jpg",
                        LookRequest(top_k=10))
    weights = pipeline.consensus
    assert weights.active and look.items
    for item in look.items:
        types = np.array([m.article_type for m in item.matches])
        colours = np.array([m.colour for m in item.matches])
        same_type = types[:, None] == types[None]
        same_both = same_type & (colours[:, None] == colours[None])
        totals = ([m.score for m in item.matches] + weights.type * same_type.mean(1)
                  + weights.type_colour * same_both.mean(1))
        assert np.all(np.diff(totals) <= 1e-9)
