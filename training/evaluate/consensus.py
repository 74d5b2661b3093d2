"""Tune how the catalog's own labels arrange the products a look shows (consensus re-ranking).

Why
    A garment's nearest products are often near ties. `companion.pipeline.consensus` lets the
    ten nearest vote with their feed labels (a bonus for the share of them that share a
    product's articleType, and its articleType and baseColour) and, picking from a pool of the
    nearest, charges each product a penalty per product already shown with its articleType and
    baseColour (variety). How large a bonus and a penalty help depends on the embedder's
    similarity scale, so they are tuned per embedder, here, and stored in the embedder's
    manifest (`extra.consensus`); the ONNX file and its sha256 do not change, so built indexes
    stay valid.

How
    The embedder's own tuning queries (training.embedder.tuning `TuningQueries`: the monitoring
    slice of the catalog's index rows searching the training products, and held-out street
    trainval boxes; never the evaluation's queries) are embedded through the runtime's Embedder,
    and every grid point picks their ten results as the evaluation does
    (`training.evaluate.retrieval.look_order`, the runtime's `consensus_order`). The point with
    the best sum of scores wins (ties: the first in grid order, the smaller weights).

Usage (training environment: torch for the tuning queries; run after training.label_heads and
training.embedder.centre):
    .venv-train/bin/python -m training.evaluate.consensus           # updates garment-embedder
    .venv-train/bin/python -m training.evaluate.consensus --dry-run # prints, writes nothing
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from companion.inference.embedder import Embedder
from companion.inference.store import ModelStore
from companion.pipeline.consensus import ConsensusWeights
from training.embedder.shipped import ShippedRun, training_data
from training.embedder.tuning import TuningQueries
from training.evaluate.retrieval import embed, look_order, nearest
from training.log import log
from training.manifest import MANIFEST, read_manifest, save_manifest
from training.params import cli, parse

TYPE_BONUS = (0.0, 0.005, 0.01, 0.02)
TYPE_COLOUR_BONUS = (0.0, 0.01, 0.02, 0.05)
VARIETY = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.16)
POOL = (10, 20, 30)  # at most three times what a look shows: variety stays among near matches
SHOWN = 10  # what a look shows by default (LookRequest.top_k) and what R@10 counts


def names(labels: torch.Tensor, classes: list[str]) -> np.ndarray:
    """Class indices as the label strings a feed would carry ("" where unknown)."""
    return np.array([classes[i] if i >= 0 else "" for i in labels.tolist()])


def describe(weights: ConsensusWeights) -> str:
    return ", ".join(f"{k} {v}" for k, v in asdict(weights).items())


@dataclass(kw_only=True)
class ConsensusParams(ShippedRun):
    """Which embedder to tune, and whether to write the result."""

    dry_run: bool = field(default=False, metadata=cli("print the choice, write nothing"))


def main(argv: list[str] | None = None) -> int:
    params = parse(ConsensusParams, argv, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)

    data = training_data(params.data, params.limit)
    embedder = Embedder(ModelStore(params.models, threads=params.threads), params.embedder)
    # the training data's letterboxed uint8 images, one array per image
    gallery = embed(embedder, list(data.cat.images.numpy()), "training products")
    queries = [embed(embedder, list(data.val.images.numpy()), "monitoring products"),
               embed(embedder, list(data.street_val.crops.numpy()), "street boxes")
               if len(data.street_val.crops) else None]
    sims = [None if q is None else q @ gallery.T for q in queries]
    pools = [None if sim is None else nearest(sim, max(POOL)) for sim in sims]
    labels, classes = data.cat.labels, data.cat.classes
    types = names(labels["type"], classes["type"])
    colours = names(labels["colour"], classes["colour"])
    rule = TuningQueries.of(data)

    def scores(weights: ConsensusWeights) -> list[float]:
        return rule.scores_of_top(*(
            None if sim is None
            else torch.from_numpy(look_order(sim, pool, types, colours, weights))
            for sim, pool in zip(sims, pools, strict=True)))

    alone = scores(ConsensusWeights())
    log(f"similarity alone: {TuningQueries.describe(alone)}")
    best, best_scores = ConsensusWeights(), alone
    for type_bonus, colour_bonus, variety, pool in itertools.product(
            TYPE_BONUS, TYPE_COLOUR_BONUS, VARIETY, POOL):
        weights = ConsensusWeights(type_bonus, colour_bonus, variety, SHOWN, pool)
        found = scores(weights)
        if sum(found) > sum(best_scores) + 1e-9:
            best, best_scores = weights, found
            log(f"better: {describe(weights)}: {TuningQueries.describe(found)}")
    log(f"chosen: {describe(best)}: {TuningQueries.describe(best_scores)}")
    if params.dry_run:
        return 0
    folder = params.models / params.embedder
    manifest = read_manifest(folder)
    manifest.setdefault("extra", {})["consensus"] = {
        **asdict(best), "tuned_by": "training.evaluate.consensus",
        "tuning_scores": {"names": ["type R@1", "type+colour R@1", "type+colour R@10",
                                    "street top-10 share"],
                          "similarity_alone": [round(s, 4) for s in alone],
                          "consensus": [round(s, 4) for s in best_scores]},
    }
    save_manifest(folder, manifest)
    log(f"wrote extra.consensus to {folder / MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
