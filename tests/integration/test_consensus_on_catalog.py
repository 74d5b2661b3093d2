"""Consensus re-ranking on the real catalog: the shipped weights, the labels an index gives the
vote, and what a look shows for real catalog photos."""

from __future__ import annotations

import numpy as np
from PIL import Image

from companion.inference.embedder import Embedder
from companion.pipeline.consensus import ConsensusWeights
from tests.support.data import CATALOG, requires_data
from training.data.catalog import read_feed


@requires_data
def test_the_shipped_embedder_carries_tuned_consensus_weights(store):
    extra = Embedder(store).manifest.extra
    assert ConsensusWeights.of(extra).active
    tuning = extra["consensus"]["tuning_scores"]
    assert sum(tuning["consensus"]) > sum(tuning["similarity_alone"])


@requires_data
def test_index_matches_carry_the_feed_labels_the_vote_needs(small_index, store):
    vector = Embedder(store).predict([np.full((80, 60, 3), 200, np.uint8)])[0]
    matches = small_index.search("footwear", vector, 10)
    assert all(m.article_type and m.colour for m in matches)
    row = small_index.product(matches[0].id)
    assert (matches[0].article_type, matches[0].colour) == (row["article_type"], row["color"])


@requires_data
def test_a_look_shows_products_from_the_nearest_with_more_variety(pipeline, small_index):
    """Over real catalog photos: what a look shows comes from the pool of nearest products and
    covers at least as many type+colour labels as the ten most similar, and more in sum."""
    weights = pipeline.consensus
    assert weights.variety > 0
    tops = [r["image_link"] for r in read_feed(CATALOG).rows_of("query")
            if "Topwear" in r["product_type"]][:12]
    photos = [np.asarray(Image.open(CATALOG / link).convert("RGB")) for link in tops]
    labels_shown = labels_nearest = 0
    for vector in pipeline.embedder.predict(photos):
        nearest = small_index.search("topwear", vector, weights.pool)
        shown = pipeline.matches("topwear", vector, 10, None)
        assert len(shown) == 10 and {m.id for m in shown} <= {m.id for m in nearest}
        labels_shown += len({(m.article_type, m.colour) for m in shown})
        labels_nearest += len({(m.article_type, m.colour) for m in nearest[:10]})
    assert labels_shown > labels_nearest
