#!/usr/bin/env python3
"""Average the label heads of two or more grafts of the same garment embedder into one model.

Why
    Label heads trained apart (another seed, fine-tuning from another block) make different
    mistakes, so the average of their distributions names types and colours more often than
    either alone. Their backbones share the frozen lower blocks, which the averaged model runs
    once: it costs the fine-tuned blocks and heads of each branch, not whole backbones.

What it does
    1. Reads each graft (scripts/train_label_heads.py wrote it): its fine-tuned backbone and the
       heads it kept. They must share the embedder (`base_sha256`) and the input size.
    2. Tunes the heads' weights on the averaged distributions with the embedder's tuning
       queries (monitoring slice, held-out street boxes; never the evaluation's queries), as
       train_label_heads.py does for one branch.
    3. Writes one ONNX: the embedder, every branch's backbone (shared layers once) and heads,
       each head's distributions averaged over the branches that have it; then run
       scripts/centre_embedder.py and scripts/tune_consensus.py on it.

Needs the training environment (torch, onnx; never the runtime), e.g.:
    .venv/bin/python scripts/ensemble_heads.py models/garment-embedder/garment-embedder.onnx \\
        runs/heads/b6s1/garment-embedder.onnx --out runs/heads/ensemble
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_embedder as te
import train_label_heads as lh
from tuning_run import training_data

log = te.log
# what the averaged grafts must share: the embedder, its scale in the graft, the input sizes
SHARED = ("base_sha256", "base_scale", "input_size", "base_input_size")


def read_graft(path: Path) -> tuple[onnx.ModelProto, dict]:
    """A graft and its manifest; refuses a model without label heads."""
    manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
    if "label_heads" not in manifest["provenance"]:
        raise SystemExit(f"{path} has no label heads: graft them with "
                         "scripts/train_label_heads.py first")
    return onnx.load(str(path)), manifest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("grafts", type=Path, nargs="+",
                   help="grafted garment-embedder.onnx files (their manifest.json next to them)")
    p.add_argument("--out", type=Path, required=True,
                   help="where the averaged model's ONNX and manifest.json go")
    p.add_argument("--data", type=Path, default=te.REPO / ".." / "shared" / "data",
                   help="folder with catalog/ and street/ (default: ../shared/data)")
    p.add_argument("--backbone", type=Path, default=lh.BACKBONE_ONNX,
                   help="the CenterNet ONNX the grafts' backbones were cut from")
    p.add_argument("--limit", type=int, default=None,
                   help="use only this many catalog products (smoke tests)")
    p.add_argument("--batch", type=int, default=64, help="images per run")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if len(args.grafts) < 2:
        p.error("name at least two grafts to average")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    torch.set_num_threads(args.threads)
    grafts = [read_graft(path) for path in args.grafts]
    provenance = [m["provenance"]["label_heads"] for _, m in grafts]
    for key in SHARED:
        if len({p[key] for p in provenance}) > 1:
            raise SystemExit(f"the grafts differ in their {key} "
                             f"({', '.join(str(p[key]) for p in provenance)}): only heads "
                             "grafted onto the same embedder at the same size can be averaged")
    first_model, first_manifest = grafts[0]
    base_model = lh.base_of(first_model)
    args.size, args.base_size = provenance[0]["input_size"], provenance[0]["base_input_size"]
    scale = provenance[0]["base_scale"]
    cut = lh.cut_backbone(args.backbone)
    branches = [lh.branch_of(model, p, cut, args.threads)
                for (model, _), p in zip(grafts, provenance, strict=True)]
    log(f"averaging the heads of {len(branches)} grafts: "
        + "; ".join(f"{path} ({', '.join(b.heads.weight)})"
                    for path, b in zip(args.grafts, branches, strict=True)))
    base = lh.session(base_model, args.threads)
    data = training_data(args)
    weights = lh.tune(data, base, branches, scale, args)
    if not any(weights.values()):
        raise SystemExit("no head improved on the embedder alone on the tuning queries; "
                         "nothing written")
    base_dim = base.run(None, {"image": np.zeros((1, 3, args.base_size, args.base_size),
                                                  np.float32)})[0].shape[1]
    model = lh.graft(base_model, branches, weights, scale, base_dim, input_size=args.size)
    lh.check_graft(model, data.cat.images[:8], base, branches, weights, scale, args)
    classes = {k: c for b in branches for k, c in b.heads.classes.items()}
    label_heads = {
        "trained_by": "scripts/ensemble_heads.py",
        # each branch's recipe; what they share and their own tuning are left out
        "branches": [{k: v for k, v in p.items() if k not in (*SHARED, "weights", "classes")}
                     for p in provenance],
        "base_sha256": provenance[0]["base_sha256"],
        "base_scale": scale,
        "weights": weights,
        "classes": {k: classes[k] for k in lh.HEADS if weights[k] > 0},
        "input_size": args.size,
        "base_input_size": args.base_size,
        "minutes": round((time.time() - started) / 60, 1),
    }
    lh.write(model, first_manifest, label_heads, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
