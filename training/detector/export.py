"""The detector's ONNX export with the manifest the companion verifies, and the score threshold
that fits what ships (the companion's own post-processing on the validation photos).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from training.data import DATA_NAME
from training.data.street import CATEGORIES, load_street
from training.manifest import rgb_input, write_manifest
from training.paths import REPO
from training.pixels import read_rgb

MODEL_NAME = "garment-detector"
OPSET = 17
PAD_VALUE = 114  # ultralytics' letterbox grey; the runtime pads with the same value


def strip_local_paths(path: Path) -> None:
    """Drop this machine's paths from the metadata ultralytics writes (the dataset's location)."""
    import onnx

    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "description":
            prop.value = "YOLOv8n garment detector trained by training.detector"
    onnx.save(model, str(path))


def export(weights: Path, out: Path, imgsz: int, score_threshold: float) -> None:
    """Export ONNX at a fixed square size and write the manifest the companion verifies."""
    import onnx
    from ultralytics import YOLO

    model = YOLO(str(weights))
    onnx_path = Path(
        model.export(format="onnx", imgsz=imgsz, opset=OPSET, dynamic=False, simplify=True)
    )
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{MODEL_NAME}.onnx"
    shutil.copyfile(onnx_path, target)
    strip_local_paths(target)
    graph = onnx.load(str(target)).graph
    in_name = graph.input[0].name
    out_vi = graph.output[0]
    out_shape = [d.dim_value for d in out_vi.type.tensor_type.shape.dim]
    names = model.names
    labels = [names[i] for i in range(len(names))]
    write_manifest(
        target,
        name=MODEL_NAME,
        task="garment-detection",
        inputs=[rgb_input(in_name, [1, 3, imgsz, imgsz],
                          f"{imgsz}x{imgsz}, letterboxed: scaled to fit, centred, padded "
                          f"with grey {PAD_VALUE}")],
        outputs=[{
            "name": out_vi.name,
            "shape": out_shape,
            "dtype": "float32",
            "meaning": f"[1,4+{len(labels)},N]: per candidate (cx, cy, w, h) in input pixels, "
            "then one sigmoid score per label; no NMS applied",
        }],
        labels=labels,
        licence="Weights: ours, trained on CCP street photos (research-only data). Trained "
        "with ultralytics (AGPL-3.0) code; whether AGPL obligations reach exported weights is "
        "unsettled. See MODEL_CARD.md",
        provenance={
            "trainer": "training.detector (ultralytics "
            f"{_ultralytics_version()}, from {model.ckpt.get('train_args', {}).get('model', '?')}"
            ", no pretrained weights)",
            "data": f"{DATA_NAME}/street trainval.txt (Clothing Co-Parsing, CCP)",
            "train_args": {
                k: _relative(v)
                for k, v in (model.ckpt.get("train_args") or {}).items()
                if k in ("epochs", "time", "imgsz", "batch", "seed", "model", "optimizer")
            },
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "opset": OPSET,
        },
        extra={
            "score_threshold": score_threshold,
            "iou_threshold": 0.5,
            "pad_value": PAD_VALUE,
            "max_per_label": {"topwear": 3, "bottomwear": 3, "footwear": 3, "dress": 3, "bag": 4},
        },
    )
    print(f"exported {target} ({target.stat().st_size / 1e6:.1f} MB) and manifest.json")


def choose_threshold(out: Path, data: Path, work: Path) -> float:
    """The score threshold with the best F1 (IoU >= 0.5) on the validation photos.

    Runs the exported ONNX through the companion's own numpy post-processing, so the threshold
    fits what ships, not ultralytics' NMS.
    """
    import numpy as np

    from companion.inference.garment_detector import GarmentDetector
    from companion.inference.store import ModelStore
    from companion.pipeline.imaging import iou

    val_names = {p.name for p in (work / "dataset" / "images" / "val").iterdir()}
    images = [im for im in load_street(data / "street", "trainval") if im.name in val_names]
    detector = GarmentDetector(ModelStore(out.parent), out.name)
    lowest = 0.05
    found = [(im, detector.predict(read_rgb(im.path), lowest))
             for im in images]
    best = (-1.0, 0.25)
    for threshold in np.arange(lowest, 0.61, 0.05):
        tp = fp = fn = 0
        for image, garments in found:
            for category in CATEGORIES:
                truth = [g.box for g in image.garments if g.category == category]
                mine = [g.box for g in garments if g.category == category and g.score >= threshold]
                hits = sum(any(iou(b, t) >= 0.5 for b in mine) for t in truth)
                tp, fn = tp + hits, fn + len(truth) - hits
                fp += max(len(mine) - hits, 0)
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        print(f"score >= {threshold:.2f}: recall {tp / max(tp + fn, 1):.3f}, "
              f"false positives/photo {fp / max(len(found), 1):.2f}, F1 {f1:.3f}")
        if f1 > best[0]:
            best = (f1, round(float(threshold), 2))
    print(f"score threshold {best[1]} (best F1 {best[0]:.3f} on {len(found)} validation photos)")
    return best[1]


def _relative(value):
    """Paths under the repository as repository-relative text: manifests name no machine."""
    if isinstance(value, str) and value.startswith(str(REPO) + os.sep):
        return os.path.relpath(value, REPO)
    return value


def _ultralytics_version() -> str:
    import ultralytics

    return ultralytics.__version__
