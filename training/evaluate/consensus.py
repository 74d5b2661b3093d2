#!/usr/bin/env python3
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
    The embedder's own tuning queries (scripts/train_embedder.py `TuningQueries`: the monitoring
    slice of the catalog's index rows searching the training products, and held-out street
    trainval boxes; never the evaluation's queries) are embedded through the runtime's Embedder,
    and every grid point picks their ten results as the evaluation does
    (`eval_retrieval.look_order`, the runtime's `consensus_order`). The point with the best sum
    of scores wins (ties: the first in grid order, the smaller weights).

Usage (training environment: torch for the tuning queries; run after train_label_heads.py):
    .venv-train/bin/python scripts/tune_consensus.py              # updates models/garment-embedder
    .venv-train/bin/python scripts/tune_consensus.py --dry-run    # prints, writes nothing
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from companion.inference.store import ModelStore
from companion.pipeline.consensus import ConsensusWeights
from companion.pipeline.embed import Embedder

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_embedder as te
from eval_retrieval import embed, look_order, nearest
from tuning_run import add_embedder_options, training_data

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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_embedder_options(p)
    p.add_argument("--dry-run", action="store_true", help="print the choice, write nothing")
    args = p.parse_args(argv)

    data = training_data(args)
    embedder = Embedder(ModelStore(args.models, threads=args.threads), args.embedder)
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
    rule = te.TuningQueries.of(data)

    def scores(weights: ConsensusWeights) -> list[float]:
        return rule.scores_of_top(*(
            None if sim is None
            else torch.from_numpy(look_order(sim, pool, types, colours, weights))
            for sim, pool in zip(sims, pools, strict=True)))

    alone = scores(ConsensusWeights())
    te.log(f"similarity alone: {te.TuningQueries.describe(alone)}")
    best, best_scores = ConsensusWeights(), alone
    for type_bonus, colour_bonus, variety, pool in itertools.product(
            TYPE_BONUS, TYPE_COLOUR_BONUS, VARIETY, POOL):
        weights = ConsensusWeights(type_bonus, colour_bonus, variety, SHOWN, pool)
        found = scores(weights)
        if sum(found) > sum(best_scores) + 1e-9:
            best, best_scores = weights, found
            te.log(f"better: {describe(weights)}: {te.TuningQueries.describe(found)}")
    te.log(f"chosen: {describe(best)}: {te.TuningQueries.describe(best_scores)}")
    if args.dry_run:
        return 0
    path = args.models / args.embedder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.setdefault("extra", {})["consensus"] = {
        **asdict(best), "tuned_by": "scripts/tune_consensus.py",
        "tuning_scores": {"names": ["type R@1", "type+colour R@1", "type+colour R@10",
                                    "street top-10 share"],
                          "similarity_alone": [round(s, 4) for s in alone],
                          "consensus": [round(s, 4) for s in best_scores]},
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    te.log(f"wrote extra.consensus to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
