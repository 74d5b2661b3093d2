"""`python -m training.label_heads`: train label heads and graft them onto the embedder."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np
import onnx
import torch

import training.label_heads
from companion.inference.store import ModelStore
from training.embedder.data import TrainingSplit, load_training_data
from training.embedder.views import keep_memory_returnable
from training.embedder.worn import with_worn_crops, worn_crops_key
from training.label_heads.backbone import (
    HEADS,
    LAST_BLOCK,
    Views,
    cut_backbone,
    session,
    split_backbone,
    view_features,
)
from training.label_heads.export import heads_provenance, write
from training.label_heads.graft import (
    base_of,
    branch_of,
    check_graft,
    check_trained_top,
    graft,
)
from training.label_heads.heads import Branch, train_heads, with_trained_top
from training.label_heads.inputs import GraftInput
from training.label_heads.params import LabelHeadsParams
from training.label_heads.tuning import base_scale, tune
from training.log import log
from training.manifest import read_manifest
from training.params import parse


def main(argv: list[str] | None = None) -> int:
    params = parse(LabelHeadsParams, argv, description=training.label_heads.__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    started = time.time()
    keep_memory_returnable()
    torch.manual_seed(params.seed)
    torch.set_num_threads(params.threads)
    # the views have their own generator (below), so a run that reads them from the cache
    # trains exactly as the run that made them
    gen = torch.Generator().manual_seed(params.seed + 1)
    base_manifest = read_manifest(params.base.parent)
    if "label_heads" in base_manifest["provenance"]:
        base_manifest = {**base_manifest, "sha256": base_manifest["provenance"]["label_heads"]
                         ["base_sha256"]}
    base_model = base_of(onnx.load(str(params.base)))
    base_size = base_model.graph.input[0].type.tensor_type.shape.dim[3].dim_value
    assert base_size, f"{params.base}: the embedder's input has no fixed size"
    shape = GraftInput(params.size or base_size, base_size, params.batch, params.threads)
    cut = cut_backbone(params.backbone)
    start = None
    if params.init_from:  # the graft's trained blocks and heads, not COCO's and new ones
        graft_manifest = read_manifest(params.init_from.parent)["provenance"]["label_heads"]
        trained = branch_of(onnx.load(str(params.init_from)), graft_manifest, cut,
                            params.threads)
        cut, start = trained.model, trained.heads
        log(f"continuing from {params.init_from}'s blocks and its heads "
            f"({', '.join(start.weight)})")
    bottom, top = split_backbone(cut, params.tune_from)
    base, bottom = session(base_model, params.threads), session(bottom, params.threads)
    scale = base_scale(base_manifest)
    # the embedder's own data settings, so the monitoring slice and held-out boxes are the same
    split = TrainingSplit(params.data, params.limit)
    data = load_training_data(split)
    if start is not None:  # before minutes of views: the heads must fit this data's classes
        assert all(start.classes[k] == data.cat.classes[k] for k in start.weight), \
            f"{params.init_from}'s heads name other classes than this data's"
    learnt = data  # what the heads learn from; the tuning below searches the products alone
    worn = ""  # with worn crops, the views are as stale as the crops they were computed from
    if params.worn_crops:
        finders = ModelStore()
        learnt = replace(data, cat=with_worn_crops(data.cat, split, params.work, finders))
        worn = f"-worn-{worn_crops_key(finders)}"
    cache = params.work / (f"maps-{params.views}-{params.limit or 'all'}-{shape.size}"
                           f"-{params.seed}-b{params.tune_from}{worn}.pt")
    if cache.exists():
        log(f"reading the frozen layers' features of the training views from {cache}")
        views = Views(**torch.load(cache))
    else:
        log(f"running the frozen layers on {params.views} views per image at {shape.size} px")
        views = view_features(bottom, learnt, params.views, shape,
                              torch.Generator().manual_seed(params.seed))
        params.work.mkdir(parents=True, exist_ok=True)
        torch.save(vars(views), cache)
    log(f"fine-tuning blocks {params.tune_from}-{LAST_BLOCK} and training {len(HEADS)} heads "
        f"on {len(views.maps)} views")
    net = train_heads(views, top, data.cat.classes, params, gen, start)
    del views
    branch = Branch.of(with_trained_top(cut, top, net), net.linear_heads(data.cat.classes),
                       params.threads)
    weights = tune(data, base, [branch], scale, shape)
    if not any(weights.values()):
        raise SystemExit("no head improved on the embedder alone on the tuning queries; "
                         "nothing written")
    base_dim = base.run(None, {"image": np.zeros((1, 3, base_size, base_size), np.float32)})[0]
    model = graft(base_model, [branch], weights, scale, base_dim.shape[1], input_size=shape.size)
    check_graft(model, data.cat.images[:8], base, [branch], weights, scale, shape)
    check_trained_top(branch.session, bottom, net, data.cat.images[:8], shape)
    write(model, base_manifest, heads_provenance(branch.heads, weights, scale,
                                                 base_manifest["sha256"], params, shape,
                                                 started), params.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
