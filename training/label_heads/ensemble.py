"""Average the label heads of two or more grafts of the same garment embedder into one model.

Why
    Label heads trained apart (another seed, fine-tuning from another block) make different
    mistakes, so the average of their distributions names types and colours more often than
    either alone. Their backbones share the frozen lower blocks, which the averaged model runs
    once: it costs the fine-tuned blocks and heads of each branch, not whole backbones.

What it does
    1. Reads each graft (training.label_heads wrote it): its fine-tuned backbone and the
       heads it kept. They must share the embedder (`base_sha256`) and the input size.
    2. Tunes the heads' weights on the averaged distributions with the embedder's tuning
       queries (monitoring slice, held-out street boxes; never the evaluation's queries), as
       training.label_heads does for one branch.
    3. Writes one ONNX: the embedder, every branch's backbone (shared layers once) and heads,
       each head's distributions averaged over the branches that have it; then run
       training.embedder.centre and training.evaluate.consensus on it.

Needs the training environment (torch, onnx; never the runtime), e.g.:
    .venv/bin/python -m training.label_heads.ensemble \\
        models/garment-embedder/garment-embedder.onnx runs/heads/b6s1/garment-embedder.onnx \\
        --out runs/heads/ensemble
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from training.data import data_root
from training.embedder.shipped import training_data
from training.label_heads.backbone import BACKBONE_ONNX, HEADS, cut_backbone, session
from training.label_heads.export import write
from training.label_heads.graft import base_of, branch_of, check_graft, graft
from training.label_heads.inputs import GraftInput
from training.label_heads.tuning import tune
from training.log import log
from training.manifest import read_manifest
from training.params import cli, parse

# what the averaged grafts must share: the embedder, its scale in the graft, the input sizes
SHARED = ("base_sha256", "base_scale", "input_size", "base_input_size")


def read_graft(path: Path) -> tuple[onnx.ModelProto, dict]:
    """A graft and its manifest; refuses a model without label heads."""
    manifest = read_manifest(path.parent)
    if "label_heads" not in manifest["provenance"]:
        raise SystemExit(f"{path} has no label heads: graft them with "
                         "python -m training.label_heads first")
    return onnx.load(str(path)), manifest


@dataclass(kw_only=True)
class EnsembleParams:
    """Which grafts to average, and where the average goes."""

    grafts: list[Path] = field(metadata=cli(
        "grafted garment-embedder.onnx files (their manifest.json next to them)",
        positional=True))
    out: Path = field(metadata=cli("where the averaged model's ONNX and manifest.json go"))
    data: Path = field(default=data_root(), metadata=cli(
        f"folder with catalog/ and street/ (default: {data_root()})"))
    backbone: Path = field(default=BACKBONE_ONNX, metadata=cli(
        "the CenterNet ONNX the grafts' backbones were cut from"))
    limit: int | None = field(default=None, metadata=cli(
        "use only this many catalog products (smoke tests)"))
    batch: int = field(default=64, metadata=cli("images per run"))
    threads: int = field(default=2, metadata=cli())

    def __post_init__(self) -> None:
        if len(self.grafts) < 2:
            raise ValueError("name at least two grafts to average")


def main(argv: list[str] | None = None) -> int:
    params = parse(EnsembleParams, argv, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    started = time.time()
    torch.set_num_threads(params.threads)
    grafts = [read_graft(path) for path in params.grafts]
    provenance = [m["provenance"]["label_heads"] for _, m in grafts]
    for key in SHARED:
        if len({p[key] for p in provenance}) > 1:
            raise SystemExit(f"the grafts differ in their {key} "
                             f"({', '.join(str(p[key]) for p in provenance)}): only heads "
                             "grafted onto the same embedder at the same size can be averaged")
    first_model, first_manifest = grafts[0]
    base_model = base_of(first_model)
    shape = GraftInput(provenance[0]["input_size"], provenance[0]["base_input_size"],
                       params.batch, params.threads)
    scale = provenance[0]["base_scale"]
    cut = cut_backbone(params.backbone)
    branches = [branch_of(model, p, cut, params.threads)
                for (model, _), p in zip(grafts, provenance, strict=True)]
    log(f"averaging the heads of {len(branches)} grafts: "
        + "; ".join(f"{path} ({', '.join(b.heads.weight)})"
                    for path, b in zip(params.grafts, branches, strict=True)))
    base = session(base_model, params.threads)
    data = training_data(params.data, params.limit)
    weights = tune(data, base, branches, scale, shape)
    if not any(weights.values()):
        raise SystemExit("no head improved on the embedder alone on the tuning queries; "
                         "nothing written")
    base_dim = base.run(None, {"image": np.zeros((1, 3, shape.base_size, shape.base_size),
                                                  np.float32)})[0].shape[1]
    model = graft(base_model, branches, weights, scale, base_dim, input_size=shape.size)
    check_graft(model, data.cat.images[:8], base, branches, weights, scale, shape)
    classes = {k: c for b in branches for k, c in b.heads.classes.items()}
    label_heads = {
        "trained_by": "training.label_heads.ensemble",
        # each branch's recipe; what they share and their own tuning are left out
        "branches": [{k: v for k, v in p.items() if k not in (*SHARED, "weights", "classes")}
                     for p in provenance],
        "base_sha256": provenance[0]["base_sha256"],
        "base_scale": scale,
        "weights": weights,
        "classes": {k: classes[k] for k in HEADS if weights[k] > 0},
        "input_size": shape.size,
        "base_input_size": shape.base_size,
        "minutes": round((time.time() - started) / 60, 1),
    }
    write(model, first_manifest, label_heads, params.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
