"""Give the garment embedder its label heads as outputs beside the embedding.

Why: the graph already computes, for every crop, the distributions its label heads predict
(article type, street class, product gender, colour) and folds their square roots into the
embedding. Naming them as outputs costs no compute and tells the look what a garment is: its
fine class (a skirt, not just "bottomwear"), which article types to rank first, and which
gender the garment is made for. The embedding itself stays bit for bit the same (checked on
real product photos before the file is written), so catalogs built with the previous file stay
valid: the manifest names the previous file in ``provenance.embedding_sha256``.

    python -m training.convert.label_outputs          # rewrites models/garment-embedder
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from training.manifest import read_manifest, save_manifest, sha256_of
from training.params import cli, parse
from training.paths import MODELS

EMBEDDER = MODELS / "garment-embedder"
STREET_CLASSES = ["shirt", "jacket", "pants", "shorts", "skirt", "dress", "shoe", "bag", "hat",
                  "sunglasses"]
# Output name -> (tensors averaged into it, label list key in provenance, meaning).
# "/Softmax_k_output_0" are the embedder's own heads (provenance.parts: type, gender, kind,
# street, colour in that order); "cn/*_p" the CenterNet-backbone label heads
# (provenance.label_heads). Where both predict the same labels, the output is their mean:
# on the street test split's labelled boxes both pick the fine class within the category
# about equally often (0.852 and 0.858), their mean 0.858 with fewer large misses.
LABEL_OUTPUTS = {
    "article_type": (["/Softmax_3_output_0"], "type"),
    "street_class": (["/Softmax_6_output_0", "cn/street_p"], "street"),
    "gender": (["/Softmax_4_output_0", "cn/gender_p"], "gender"),
    "colour": (["cn/colour_p"], "colour"),
}
MEANINGS = {
    "article_type": "probability of each catalog articleType "
                    "(labels: provenance.parts.classes.type)",
    "street_class": "probability of each street garment class (labels: extra.street_classes)",
    "gender": "probability that the garment is made for women / men (female, male)",
    "colour": "probability of each catalog baseColour "
              "(labels: provenance.label_heads.classes.colour)",
}


def add_label_outputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` with one named output per entry of LABEL_OUTPUTS after the embedding."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    known = {out for node in graph.node for out in node.output}
    if any(o.name in LABEL_OUTPUTS for o in graph.output):
        raise SystemExit("the embedder already has label outputs")
    for name, (tensors, _) in LABEL_OUTPUTS.items():
        missing = [t for t in tensors if t not in known]
        if missing:
            raise SystemExit(f"the embedder graph has no tensor {missing[0]}: not the file this "
                             "script was written for")
        if len(tensors) == 1:
            graph.node.append(helper.make_node("Identity", tensors, [name], name=f"out/{name}"))
        else:
            total = f"out/{name}/sum"
            half = f"out/{name}/half"
            graph.initializer.append(helper.make_tensor(half, onnx.TensorProto.FLOAT, [],
                                                        [1.0 / len(tensors)]))
            graph.node.append(helper.make_node("Sum", tensors, [total], name=total))
            graph.node.append(helper.make_node("Mul", [total, half], [name], name=f"out/{name}"))
        graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                          ["batch", None]))
    onnx.checker.check_model(model)
    return model


def _checked_widths(before: Path, after: Path, images: np.ndarray) -> dict[str, int]:
    """The width of each label output; refuses a file whose embedding differs from the
    previous one in any bit, or whose label outputs are not distributions."""
    old = ort.InferenceSession(str(before), providers=["CPUExecutionProvider"])
    new = ort.InferenceSession(str(after), providers=["CPUExecutionProvider"])
    first = old.run(["embedding"], {"image": images})[0]
    answers = dict(zip([o.name for o in new.get_outputs()], new.run(None, {"image": images}),
                       strict=True))
    if not np.array_equal(first, answers["embedding"]):
        raise SystemExit("the embedding changed: not writing the new file")
    for name in LABEL_OUTPUTS:
        if not np.allclose(answers[name].sum(axis=1), 1.0, atol=1e-4):
            raise SystemExit(f"the {name} output does not sum to 1")
    return {name: int(answers[name].shape[1]) for name in LABEL_OUTPUTS}


def _real_crops(count: int = 16) -> np.ndarray:
    """Catalog product photos as the embedder's input (the check needs real pixels)."""
    from PIL import Image

    from training.data import data_root
    photos = sorted((data_root() / "catalog" / "images").glob("*.jpg"))[:count]
    rows = [np.asarray(Image.open(p).convert("RGB").resize((160, 160)), dtype=np.float32)
            for p in photos]
    return (np.stack(rows) / 255.0).transpose(0, 3, 1, 2).astype(np.float32)


@dataclass
class Params:
    folder: Path = field(default=EMBEDDER, metadata=cli("the embedder's model folder"))


def main(argv: list[str] | None = None) -> None:
    args = parse(Params, argv, description=__doc__)
    manifest = read_manifest(args.folder)
    path = args.folder / manifest["file"]
    model = add_label_outputs(onnx.load(str(path)))
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / path.name
        onnx.save(model, str(candidate))
        widths = _checked_widths(path, candidate, _real_crops())
        previous = manifest["sha256"]
        shutil.copyfile(candidate, path)
    manifest["outputs"] = manifest["outputs"][:1] + [
        {"name": name, "shape": ["batch", widths[name]], "dtype": "float32",
         "meaning": MEANINGS[name]}
        for name in LABEL_OUTPUTS
    ]
    manifest["provenance"]["embedding_sha256"] = manifest["provenance"].get(
        "embedding_sha256", previous)
    manifest["provenance"]["label_outputs"] = {
        "by": "python -m training.convert.label_outputs",
        "from_sha256": previous,
        "outputs": {name: tensors for name, (tensors, _) in LABEL_OUTPUTS.items()},
    }
    manifest["extra"]["street_classes"] = STREET_CLASSES
    manifest["sha256"], manifest["bytes"] = sha256_of(path), path.stat().st_size
    save_manifest(args.folder, manifest)
    print(f"{path}: label outputs {', '.join(LABEL_OUTPUTS)}; embedding unchanged")


if __name__ == "__main__":
    main()
