"""Centre the garment embedder: subtract the training products' mean embedding, normalise again.

Why
    Every garment embedding shares a large common part (all of them are "a garment on white", and
    the square-rooted label distributions are never negative), so cosine similarities bunch
    together and a street crop's nearest products are pulled toward whatever is closest to that
    common part. Subtracting the mean of the training products' embeddings removes it. On the
    embedder's tuning queries (never the evaluation's) the share of a street box's top ten that
    fits its class rose from 0.761 to 0.785 while the product-to-product scores stayed where
    they were (the model card has the numbers).

What it does
    1. Embeds the training products (training.embedder's own split: the catalog's index rows less
       the monitoring slice; never a query row) through the runtime's Embedder.
    2. Appends to the graph: subtract their mean, divide by the length (at least 1e-6). The
       model's input and output names stay; the old output is kept as `uncentred_embedding`.
    3. Checks the new file computes what it was meant to, and writes it and its manifest
       (`provenance.centring`). Consensus weights are dropped: they were tuned on the old file,
       so run training.evaluate.consensus next.

A file that is already centred is refused: centre the graft training.label_heads wrote.
Training environment (torch for the training split's loaders; never the runtime):
    .venv-train/bin/python -m training.embedder.centre   # rewrites models/garment-embedder/
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from companion.inference.embedder import Embedder
from companion.inference.store import ModelStore
from training.embedder.shipped import ShippedRun, training_data
from training.evaluate.retrieval import embed
from training.log import log
from training.manifest import MANIFEST, extra_of_a_changed_file, read_manifest, write_manifest
from training.params import cli, parse

UNCENTRED = "uncentred_embedding"
MEAN = "centring/mean"
EPSILON = 1e-6  # an embedding equal to the mean is left near zero rather than divided by zero


@dataclass(kw_only=True)
class CentreParams(ShippedRun):
    """Which embedder to centre, and where the centred one goes."""

    out: Path | None = field(default=None, metadata=cli(
        "write the centred model here (default: over the embedder's folder)"))


def centred_graph(model: onnx.ModelProto, mean: np.ndarray) -> onnx.ModelProto:
    """`model` with its `embedding` output centred on `mean` and normalised again."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    output = out.graph.output[0].name
    for node in out.graph.node:
        node.output[:] = [UNCENTRED if o == output else o for o in node.output]
    out.graph.initializer.extend([
        numpy_helper.from_array(mean.astype(np.float32)[None], MEAN),
        numpy_helper.from_array(np.array(EPSILON, np.float32), "centring/epsilon"),
    ])
    out.graph.node.extend([
        helper.make_node("Sub", [UNCENTRED, MEAN], ["centring/centred"]),
        helper.make_node("ReduceL2", ["centring/centred"], ["centring/length"], axes=[1],
                         keepdims=1),
        helper.make_node("Max", ["centring/length", "centring/epsilon"], ["centring/divisor"]),
        helper.make_node("Div", ["centring/centred", "centring/divisor"], [output]),
    ])
    onnx.checker.check_model(out)
    return out


def check(folder: Path, mean: np.ndarray, crops: list[np.ndarray],
          uncentred: np.ndarray) -> None:
    """The model in `folder` embeds as the uncentred one did, centred on `mean` and normalised."""
    want = uncentred - mean
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    got = Embedder(ModelStore(folder.parent), folder.name).predict(crops)
    diff = float(np.abs(got - want).max())
    assert diff < 1e-4, f"the centred ONNX differs from the centred embeddings by {diff}"
    log(f"centred ONNX matches the centred embeddings (max abs diff {diff:.1e})")


def main(argv: list[str] | None = None) -> int:
    params = parse(CentreParams, argv, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    started = time.time()
    folder = params.models / params.embedder
    manifest = read_manifest(folder)
    model = onnx.load(str(folder / manifest["file"]))
    if any(t.name == MEAN for t in model.graph.initializer):
        raise SystemExit("this embedder is already centred; centre the file that "
                         "training.label_heads wrote instead")
    data = training_data(params.data, params.limit)
    products = list(data.cat.images.numpy())
    embeddings = embed(Embedder(ModelStore(params.models, threads=params.threads), params.embedder),
                       products, "training products")
    mean = embeddings.mean(axis=0)
    length = float(np.linalg.norm(mean))
    log(f"mean of {len(products)} training products' embeddings: length {length:.3f} "
        f"(a product's cosine to it: median {np.median(embeddings @ mean) / length:.3f})")

    out = params.out or folder
    # written and checked here before it replaces anything
    staging = out.parent / f".{out.name}-centring" / out.name
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / manifest["file"]
    onnx.save(centred_graph(model, mean), str(path))
    output = dict(manifest["outputs"][0])
    output["meaning"] = (output["meaning"] + "; then centred: the mean of the training products' "
                         "embeddings (provenance.centring) subtracted and L2-normalised again")
    provenance = dict(manifest["provenance"])
    provenance["centring"] = {
        "by": "training.embedder.centre",
        "mean_of": f"{len(products)} training products of training.embedder's split "
                   "(the catalog's index rows less the monitoring slice)",
        "uncentred_sha256": manifest["sha256"],
        "mean_length": round(length, 4),
        "minutes": round((time.time() - started) / 60, 1),
    }
    written = write_manifest(path, name=manifest["name"], task=manifest["task"],
                             inputs=manifest["inputs"], outputs=[output],
                             labels=manifest["labels"], licence=manifest["licence"],
                             provenance=provenance, extra=extra_of_a_changed_file(manifest))
    check(staging, mean, products[:64], embeddings[:64])
    out.mkdir(parents=True, exist_ok=True)
    for name in (manifest["file"], MANIFEST):
        (staging / name).replace(out / name)
    staging.rmdir()
    staging.parent.rmdir()
    log(f"wrote {out / manifest['file']} ({written['bytes'] / 1e6:.1f} MB, sha256 "
        f"{written['sha256'][:12]}…); next: python -m training.evaluate.consensus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
