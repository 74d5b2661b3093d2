"""`python -m training.embedder`: train the garment embedder and export it (see --help)."""

from __future__ import annotations

import argparse
import random
import sys

import numpy as np
import torch

import training.embedder
from training.embedder.data import load_training_data
from training.embedder.export import check_init_matches_stopgap, export, reexport
from training.embedder.loss import ProxyLoss
from training.embedder.model import PartWeights, ShippedEmbedder
from training.embedder.params import EmbedderParams
from training.embedder.train import fit_colour_head, load_checkpoint, train
from training.embedder.tuning import tune_weights
from training.embedder.views import keep_memory_returnable
from training.log import log
from training.params import parse


def main(argv: list[str] | None = None) -> int:
    params = parse(EmbedderParams, argv, description=training.embedder.__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if params.reexport:
        reexport(params.reexport.resolve(), params)
        return 0
    check_init_matches_stopgap(params.init, params.size)
    torch.manual_seed(params.seed)
    random.seed(params.seed)
    np.random.seed(params.seed)
    torch.set_num_threads(params.threads)
    keep_memory_returnable()
    gen = torch.Generator().manual_seed(params.seed)
    data = load_training_data(params.split())
    if params.from_checkpoint:
        model, proxies = load_checkpoint(params.from_checkpoint, params.dim)
    else:
        model, proxies = train(params, data, gen)
    if not params.no_export:
        log(f"fitting the colour head on {params.colour_views} views per training product")
        colour_head = fit_colour_head(model, data, params, gen)
        shipped = ShippedEmbedder(model, proxies, colour_head, PartWeights(),
                                  ProxyLoss.TEMPERATURE)
        shipped.weights = tune_weights(shipped.eval(), data, params)
        export(shipped, data.cat.classes, params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
